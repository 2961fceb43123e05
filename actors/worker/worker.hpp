#pragma once

#include "actors/core/atoms.hpp"
#include "runtime/plugin/consumer.hpp"
#include "runtime/task/task.hpp"

#include <atomic>
#include <caf/typed_actor.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sy::actors {

/// One task for a worker, with a flag the scheduler raises when the task
/// passed its timeout or the node stops hard.
struct work_order {
  task job;
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
};

/// What came of a work order.
struct work_result {
  std::string uid;
  /// Empty when the task finished; the error text when it crashed.
  std::string error;
  bool crashed = false;
  /// Children the consumer sent; published only if the task finished.
  std::vector<task> children;
  /// Wall time spent in `process`, in seconds.
  double seconds = 0;
};

/// A worker runs a consumer's `process` on its own thread (it is spawned
/// detached), so user code may block. One work order at a time.
using worker_actor = caf::typed_actor<caf::replies_to<run_atom, work_order>::with<work_result>>;

/// What a worker needs besides its consumer.
struct worker_options {
  /// The identity the worker serves; tags its log lines.
  std::string identity;
  /// Called from the worker's thread when the consumer asks for a heartbeat;
  /// receives the task uid. May be empty.
  std::function<void(const std::string&)> on_heartbeat;
  /// Reads resources for `consumer_context::resource_of`; may be empty
  /// (reading then fails with a clear error).
  std::function<expected<void>(const resource_ref&, const resource_sink&)> read_resource;
};

/// Runs `process` of `impl` for every work order. A thrown exception or a
/// returned error becomes a crashed result with its text.
worker_actor::behavior_type worker(worker_actor::pointer self, std::shared_ptr<consumer> impl,
                                   worker_options opts);

} // namespace sy::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sy::actors::work_order)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sy::actors::work_result)
