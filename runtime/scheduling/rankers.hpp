#pragma once

#include "runtime/core/expected.hpp"
#include "runtime/core/value.hpp"
#include "runtime/task/task.hpp"

#include <memory>
#include <optional>
#include <string>

namespace sy::scheduling {

/// What a ranker knows besides the task. A score is computed once, when the
/// task is pushed, and must order correctly at every later moment: rankers
/// use when a task was queued, not how long it has waited so far.
struct rank_context {
  /// When the task was queued (Unix seconds).
  double queued_at = 0;
  /// Deliveries so far (1 on the first).
  std::uint32_t attempt = 1;
  /// Seconds since a task with the same hash last finished; none if it
  /// never ran.
  std::optional<double> since_last_run;
};

/// Scores waiting tasks: higher runs first (equal scores in arrival order).
class ranker {
public:
  virtual ~ranker() = default;
  virtual double score(const task& t, const rank_context& ctx) const = 0;
};

/// The built-in rankers (DESIGN §6):
/// - `sy.rankers.priority`: Karton's order, high > normal > low, FIFO
///   inside a class. No config.
/// - `sy.rankers.age`: the priority class plus one class per `aging` of
///   waiting (config `aging`, a duration, default "60s"), so a low task
///   overtakes fresh high ones after 2 × aging: nothing starves. Scored as
///   class − queued_at / aging, which orders as class + waited / aging at
///   every moment.
/// - `sy.rankers.grace_period` (KAT): never run → top band (3); last run
///   longer ago than `grace_period` (default "24h") → overdue band (2);
///   otherwise in [0, 1), growing with the whole seconds elapsed since the
///   last run over `horizon` (default: the grace period).
/// Unknown names and invalid configs are errors naming the ranker and key.
expected<std::unique_ptr<ranker>> make_ranker(const std::string& name, const value& config);

} // namespace sy::scheduling
