#pragma once

#include "runtime/task/task.hpp"

#include <cstdint>
#include <optional>

namespace sy {

/// What a ranker knows besides the task. A score is computed once, when the
/// task is pushed, and must order correctly at every later moment: rankers
/// use when a task was queued, not how long it has waited so far.
struct rank_context {
  /// When the task was queued (Unix seconds).
  double queued_at = 0;
  /// Deliveries so far (1 on the first).
  std::uint32_t attempt = 1;
  /// Seconds since a task with the same hash (all headers and payload) last
  /// finished on this queue, on any node (bucket `sy_runs`); none if it
  /// never ran. Filled only for rankers whose `uses_last_run` is true.
  std::optional<double> since_last_run;
};

/// Scores the waiting tasks of one queue: higher runs first. A queue's
/// scheduler decides what to do with the score (`sy.schedulers.fifo`
/// ignores it). One instance per queue, used by one thread at a time.
class ranker {
public:
  virtual ~ranker() = default;
  virtual double score(const task& t, const rank_context& ctx) const = 0;

  /// True if `score` reads `rank_context::since_last_run`; the runtime only
  /// tracks finished runs by hash for rankers that do.
  virtual bool uses_last_run() const { return false; }
};

} // namespace sy
