#pragma once

#include "runtime/broker/connection_options.hpp"
#include "runtime/core/expected.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <spdlog/common.h>
#include <string>
#include <string_view>

namespace sy::pipeline {

/// The subject a log record goes to: `sy.logs.<level>.<identity token>`
/// (`level` as `log::level_name` writes it), `_node` for records that belong
/// to no consumer identity (no identity starts with `_`).
std::string log_subject(std::string_view level, std::string_view identity);

/// The consumer identity a logger speaks for: loggers named
/// `<subsystem>.<identity>` (`consumer.classifier`, `scheduler.classifier`)
/// belong to that identity; others to none (empty).
std::string_view identity_of_logger(std::string_view logger);

/// How a `log_publisher` reaches the broker and what it writes.
struct log_publisher_options {
  /// The broker. The publisher opens a connection of its own with these URLs
  /// and timeouts (the callbacks are replaced by its own, which log nothing):
  /// log traffic never takes task traffic's reconnect buffer or connection
  /// lock, and nothing that connection reports becomes a record to publish.
  broker::connection_options connection;
  /// The node name written into every record.
  std::string node;
  /// Most records waiting to be published; beyond it records are dropped
  /// and counted.
  std::size_t capacity = 10000;
  /// Messages longer than this are cut (a record must fit in one NATS message).
  std::size_t max_message_bytes = 64 * 1024;
  /// How long the destructor keeps publishing what is still queued.
  std::chrono::milliseconds drain_timeout{2000};
};

/// Publishes the node's log records to SY_LOGS (docs/PIPELINE.md "Logs"),
/// one JSON object per record: {"time", "level", "logger", "node",
/// "identity", "message"}. Its `sink` is meant for `log::add_sink`.
///
/// Never blocks the code that logs on the network: the sink turns a record
/// into JSON and appends it to a bounded queue; one thread of the publisher
/// sends the queue with core NATS publishes (the stream stores them). While
/// its connection is down the queue waits; once it is full, new records are
/// dropped and counted, and the first drop of an outage is reported on stderr
/// once (with the count when publishing resumes). Records logged on the
/// publishing thread are not published again.
///
/// Thread-safe. Create it after the layout exists (records published before
/// SY_LOGS exists are lost), remove its sink before destroying it.
class log_publisher {
public:
  /// Starts the connection (it keeps trying in the background if the broker
  /// is unreachable now) and the publishing thread. Fails for an invalid URL
  /// or options.
  static expected<std::unique_ptr<log_publisher>> start(log_publisher_options opts);

  /// Publishes what is queued (up to `drain_timeout`, counting the rest as
  /// dropped), stops the thread and closes the connection.
  ~log_publisher();
  log_publisher(const log_publisher&) = delete;
  log_publisher& operator=(const log_publisher&) = delete;

  /// The sink to add to the loggers.
  spdlog::sink_ptr sink() const;

  /// Records handed to NATS so far, and records dropped (queue full, or a
  /// publish failed).
  struct counters {
    std::uint64_t published = 0;
    std::uint64_t dropped = 0;
  };
  counters stats() const;

  struct impl;

private:
  explicit log_publisher(std::shared_ptr<impl> p);
  std::shared_ptr<impl> impl_;
};

} // namespace sy::pipeline
