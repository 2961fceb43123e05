#pragma once

#include "runtime/broker/stream_spec.hpp"
#include "runtime/core/expected.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace sy::broker {

class connection;

/// Where a new consumer starts; `by_start_time` uses `consumer_spec::start_time`,
/// `by_start_sequence` uses `consumer_spec::start_sequence`.
enum class deliver_policy { all, new_only, last_per_subject, by_start_time, by_start_sequence };

const char* to_string(deliver_policy p);

/// A durable pull consumer, with explicit acks unless `acks` is false.
/// Created by `ensure_consumer`, bound to by `pull_consumer`; never
/// created by a subscribe call (nats.c would delete it on unsubscribe).
struct consumer_spec {
  /// Stream the consumer reads.
  std::string stream;
  /// Durable name (no dots), e.g. `classifier`.
  std::string durable;
  /// Only messages on matching subjects; empty = all of the stream's.
  std::string filter_subject;
  /// Redeliver a message not acked within this (restarted by `in_progress`).
  std::chrono::nanoseconds ack_wait = std::chrono::seconds(30);
  /// Deliveries before the server gives up on a message; -1 = unlimited.
  std::int64_t max_deliver = -1;
  /// Messages delivered and not yet acked across all pullers of the consumer;
  /// beyond it the server delivers nothing more (JetStream default 1000).
  std::int64_t max_ack_pending = 1000;
  deliver_policy deliver = deliver_policy::all;
  /// With `by_start_time`: the first message stored at or after this.
  std::chrono::system_clock::time_point start_time;
  /// With `by_start_sequence`: the first stream sequence delivered (>= 1).
  std::uint64_t start_sequence = 1;
  /// Explicit acks. False means no acks at all (AckNone): a message is done
  /// once delivered; for readers that start over from scratch anyway.
  bool acks = true;
  /// Redelivery delays per attempt; if set, ack_wait is `backoff[0]` and
  /// max_deliver must exceed its length.
  std::vector<std::chrono::nanoseconds> backoff;
  /// The server deletes the consumer after this long without pullers; 0 = never.
  std::chrono::nanoseconds inactive_threshold{0};
  /// One replica in memory, whatever the stream's: for short-lived readers
  /// (a client waiting for one event), which a cluster then need not
  /// replicate. Set at creation only.
  bool lightweight = false;
  std::string description;
};

/// Makes the durable consumer exist with `spec`'s shape. Creates it if
/// missing; updates ack_wait, max_deliver, max_ack_pending, backoff,
/// inactive_threshold and description in place; a different deliver policy,
/// ack policy or filter subject is an `errc::conflict` naming the field. A
/// second consumer with an overlapping filter on a work-queue stream is an
/// `errc::conflict` too. Blocking.
expected<ensure_outcome> ensure_consumer(connection& conn, const consumer_spec& spec);

/// Current counters of a consumer.
struct consumer_state {
  /// Messages not yet delivered to anyone.
  std::uint64_t num_pending = 0;
  /// Delivered, not yet acked (in flight or held by pullers).
  std::int64_t num_ack_pending = 0;
  /// Messages delivered more than once and not yet acked.
  std::int64_t num_redelivered = 0;
  /// Pull requests waiting at the server.
  std::int64_t num_waiting = 0;
  /// Highest stream sequence delivered, and the stream ack floor.
  std::uint64_t delivered_stream_seq = 0;
  std::uint64_t ack_floor_stream_seq = 0;
};

/// Fails with `errc::not_found` if the stream or the consumer does not exist.
expected<consumer_state> consumer_info(connection& conn, const std::string& stream,
                                       const std::string& durable);

expected<void> delete_consumer(connection& conn, const std::string& stream,
                               const std::string& durable);

} // namespace sy::broker
