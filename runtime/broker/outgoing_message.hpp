#pragma once

#include "runtime/broker/header_list.hpp"
#include "runtime/core/expected.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace sy::broker {

/// A message to publish into a JetStream stream. Plain data: the publisher
/// copies what it needs, the caller keeps ownership.
struct outgoing_message {
  /// Subject captured by a stream, e.g. `sy.unrouted.normal`.
  std::string subject;
  /// Payload bytes (any binary content).
  std::string data;
  /// Extra headers sent as they are.
  header_list headers;
  /// Becomes `Nats-Msg-Id`: the stream drops a second message with the same
  /// id inside its duplicate window and acks it with `duplicate = true`.
  /// Empty: no id.
  std::string msg_id;
  /// Becomes `Nats-Expected-Last-Subject-Sequence`: the stream stores the
  /// message only if the last message on `subject` has this sequence (0: the
  /// subject holds no message). A mismatch fails with `errc::conflict`.
  std::optional<std::uint64_t> expected_last_subject_seq;
};

/// The stream's confirmation that a message is stored.
struct pub_ack {
  /// Stream that stored the message.
  std::string stream;
  /// Its sequence in that stream (a KV revision for KV subjects).
  std::uint64_t seq = 0;
  /// True if the stream already held a message with the same `msg_id`;
  /// `seq` is then the sequence of that earlier message.
  bool duplicate = false;
};

/// Receives the outcome of an asynchronous JetStream publish.
using pub_ack_handler = std::function<void(expected<pub_ack>)>;

} // namespace sy::broker
