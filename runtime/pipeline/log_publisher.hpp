#pragma once

#include "runtime/broker/connection.hpp"

#include <memory>
#include <spdlog/sinks/sink.h>
#include <string>

namespace sy::pipeline {

/// The subject a log record goes to: `sy.logs.<level>.<identity token>`,
/// `_node` for records that belong to no consumer identity.
std::string log_subject(std::string_view level, std::string_view identity);

/// The consumer identity a logger speaks for: loggers named
/// `<subsystem>.<identity>` (`consumer.classifier`, `scheduler.classifier`)
/// belong to that identity; others to none (empty).
std::string_view identity_of_logger(std::string_view logger);

/// Publishes the node's log records to SY_LOGS (docs/PIPELINE.md "Logs"),
/// one JSON object per record: {"time", "level", "logger", "node",
/// "identity", "message"}. A spdlog sink for `log::add_sink`.
///
/// Never blocks the caller on the network: records go to a bounded queue
/// that one thread publishes (core NATS publishes into the stream, buffered
/// by nats.c while reconnecting). When the queue is full records are
/// dropped and counted; the count is logged to stderr once per burst.
/// Records logged while publishing are not published again.
class log_publisher {
public:
  /// Most records waiting to be published.
  static constexpr std::size_t capacity = 10000;

  log_publisher(std::shared_ptr<broker::connection> conn, std::string node);
  /// Publishes what is queued (up to 2 s) and stops the thread.
  ~log_publisher();
  log_publisher(const log_publisher&) = delete;
  log_publisher& operator=(const log_publisher&) = delete;

  /// The sink to add to the loggers.
  spdlog::sink_ptr sink() const;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace sy::pipeline
