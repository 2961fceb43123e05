#pragma once

#include "actors/core/delivery.hpp"
#include "runtime/broker/connection.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "runtime/pipeline/metrics.hpp"
#include "runtime/task/task.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sy::actors {

/// The outcome of one delivered task, to be made durable and acked.
struct outcome {
  /// The task as it ran.
  task job;
  /// Crashed (with `error`) or Finished.
  bool crashed = false;
  std::string error;
  /// Children to declare and publish first (Finished only).
  std::vector<task> children;
};

/// What a commit writes through.
struct commit_deps {
  std::shared_ptr<broker::connection> conn;
  std::shared_ptr<broker::kv_bucket> tasks;
  pipeline::identity_metrics* metrics = nullptr;
};

/// Makes `result` durable in the order docs/PIPELINE.md requires, all
/// asynchronously: each child's Declared record and publish, then the task's
/// terminal record, then the ack of `msg`. If a step fails the message is
/// nak'ed so the task runs again later (its children may then exist twice;
/// nothing is lost). `done` runs once at the end, on a broker thread.
void commit(const commit_deps& deps, delivery msg, outcome result, std::function<void()> done);

} // namespace sy::actors
