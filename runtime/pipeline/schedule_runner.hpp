#pragma once

#include "runtime/broker/connection.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "runtime/pipeline/producer.hpp"
#include "runtime/pipeline/schedule.hpp"

#include <functional>
#include <vector>

namespace sy::pipeline {

/// What one pass over the schedules did.
struct schedule_pass {
  /// Ids of the schedules whose blueprint was sent, and of those skipped.
  std::vector<std::string> sent;
  std::vector<std::string> skipped;
  /// Errors, one line each (naming the schedule); the pass goes on.
  std::vector<std::string> errors;
};

/// Runs every schedule in `schedules` that is due at `now` (Unix seconds;
/// the caller's clock, so tests control it): sends its blueprint through
/// `producer` or skips it (the previous analysis, read from SY_EVENTS,
/// finished within the grace period), then stores its next run, `jitter`
/// × `draw()` later than planned (`draw` returns [0, 1)). An interval
/// schedule that fell behind (node down) runs once, then keeps its pace
/// from now: no burst of missed runs.
///
/// The send comes first and the record second, each run's task uid derived
/// from the schedule and its planned time: a pass that dies in between, or
/// two passes at once, send the run once (duplicate window). The record is
/// written on its revision, so a user's change made meanwhile wins.
/// Blocking; run it on a thread that may block (the housekeeper's).
schedule_pass run_due_schedules(broker::connection& conn, broker::kv_bucket& schedules,
                                producer& producer, double now,
                                const std::function<double()>& draw);

} // namespace sy::pipeline
