#pragma once

#include "runtime/core/expected.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sy::broker {

class connection;

enum class retention_policy { limits, workqueue, interest };
enum class storage_type { file, memory };
enum class discard_policy { old_messages, new_messages };

const char* to_string(retention_policy p);
const char* to_string(storage_type t);
const char* to_string(discard_policy p);

/// The shape switchyard needs for one JetStream stream. Limits use -1 for
/// "unlimited" (0 is read as -1 as well); durations use 0 for "none".
struct stream_spec {
  /// Stream name, e.g. `SY_QUEUES`.
  std::string name;
  /// Subjects the stream captures; an existing stream may capture more,
  /// unless `exact_subjects`.
  std::vector<std::string> subjects;
  /// The stream captures `subjects` and nothing else: an existing stream's
  /// other subjects are dropped. For streams whose every message must reach
  /// a consumer: a publish to any other subject is then refused (no
  /// responders) instead of stored where nobody reads it.
  bool exact_subjects = false;
  retention_policy retention = retention_policy::limits;
  storage_type storage = storage_type::file;
  /// Copies in a cluster (1, 3 or 5).
  int replicas = 1;
  /// Messages older than this are removed; 0 = kept forever.
  std::chrono::nanoseconds max_age{0};
  /// Window in which a repeated `Nats-Msg-Id` is dropped; 0 = server default (2 min).
  std::chrono::nanoseconds duplicate_window{0};
  std::int64_t max_msgs_per_subject = -1;
  std::int64_t max_msgs = -1;
  std::int64_t max_bytes = -1;
  std::int32_t max_msg_size = -1;
  /// What happens at a limit: drop old messages or refuse new ones.
  discard_policy discard = discard_policy::old_messages;
  /// Let any replica answer direct gets (KV reads).
  bool allow_direct = false;
  /// Allow `Nats-Rollup` (KV purge).
  bool allow_rollup = false;
  /// Forbid deleting single messages (KV buckets). Once set it stays set.
  bool deny_delete = false;
};

/// What `ensure_stream` / `ensure_consumer` did.
enum class ensure_outcome { created, unchanged, updated };

/// Makes the stream exist with `spec`'s shape. Creates it if missing. If it
/// exists, differences that JetStream can change in place (subjects, which
/// become the union of both lists or, with `exact_subjects`, `spec`'s;
/// limits, max age, duplicate window, discard, replicas, direct get, rollup)
/// are updated; a different retention or storage is an `errc::conflict` that
/// names the field, e.g. "stream SY_QUEUES exists with retention=limits,
/// switchyard needs workqueue; delete it or fix the config". Safe to call
/// concurrently from several nodes. Blocking (one to three API round trips).
expected<ensure_outcome> ensure_stream(connection& conn, const stream_spec& spec);

/// Current counters of a stream.
struct stream_state {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  /// Distinct subjects holding messages.
  std::int64_t num_subjects = 0;
  std::int64_t consumers = 0;
  /// Messages per subject matching the filter asked for (none without one).
  std::map<std::string, std::uint64_t> subjects;
  /// The stream belongs to a JetStream cluster (its info names one); false
  /// on a standalone server.
  bool clustered = false;
};

/// Fails with `errc::not_found` if the stream does not exist. With a
/// `subjects_filter` (for filters matching few subjects: the server lists
/// them all in one reply) `subjects` counts the matching ones, from the
/// same state as `messages`.
expected<stream_state> stream_info(connection& conn, const std::string& stream,
                                   const std::string& subjects_filter = {});

/// Deletes the stream and all its messages and consumers.
expected<void> delete_stream(connection& conn, const std::string& stream);

/// Removes the stream's messages whose subject matches `subject_filter`
/// (wildcards allowed; empty = all).
expected<void> purge_stream(connection& conn, const std::string& stream,
                            const std::string& subject_filter = {});

/// Removes every message of the stream on `subject_filter` below sequence
/// `seq`. nats-server 2.9 moves each consumer whose filter the purge's
/// covers, and that has not delivered that far, to the first message left
/// on the filter, and forgets what those consumers have delivered and not
/// had acked. A filter other than ">" keeps nats-server 2.9.10 from its
/// compaction, which leaves the stream's block cache unusable.
expected<void> purge_stream_below(connection& conn, const std::string& stream,
                                  const std::string& subject_filter, std::uint64_t seq);

/// The data of the last message on `subject` (no wildcards) in `stream`;
/// none when there is none.
expected<std::optional<std::string>> last_message_data(connection& conn, const std::string& stream,
                                                       const std::string& subject);

/// Removes one message by sequence; `errc::not_found` if it is not there.
expected<void> delete_stream_message(connection& conn, const std::string& stream,
                                     std::uint64_t seq);

/// The same without waiting: asks the stream to remove message `seq` (no
/// delete marker, the data not overwritten). The answer goes to `reply`
/// when given, to nobody otherwise; an error is only the request's own.
expected<void> request_message_delete(connection& conn, const std::string& stream,
                                      std::uint64_t seq, std::string_view reply = {});

/// A message read back from a stream by sequence.
struct stored_message {
  std::uint64_t seq = 0;
  std::string subject;
  std::string data;
};

/// The first message at or after sequence `from` whose subject matches
/// `filter` (wildcards allowed); none when there is none. A direct get: the
/// stream must allow them. One round trip whatever the stream holds, so
/// paging through a subject costs one request per message.
expected<std::optional<stored_message>> next_stored_message(connection& conn,
                                                            const std::string& stream,
                                                            const std::string& filter,
                                                            std::uint64_t from);

/// Up to `limit` messages matching `filter` from sequence `after` + 1 on,
/// oldest first, and the sequence to pass as `after` for the next page
/// (none on the last page). One direct get per message, plus one to see
/// whether more follow.
struct stored_page {
  std::vector<stored_message> messages;
  std::optional<std::uint64_t> next;
};
expected<stored_page> read_stored_page(connection& conn, const std::string& stream,
                                       const std::string& filter, std::uint64_t after,
                                       std::size_t limit);

/// The number of messages on each subject matching `filter` (wildcards
/// allowed), in pages of stream info requests: for filters that match few
/// subjects.
expected<std::map<std::string, std::uint64_t>>
subject_counts(connection& conn, const std::string& stream, const std::string& filter);

/// How many distinct subjects matching `filter` hold messages. One stream
/// info request (the server counts; the subjects themselves are not sent).
expected<std::uint64_t> count_subjects(connection& conn, const std::string& stream,
                                       const std::string& filter);

} // namespace sy::broker
