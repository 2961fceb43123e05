#pragma once

#include "runtime/core/value.hpp"
#include "runtime/sim/scenario.hpp"
#include "runtime/task/task.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

/// What a simulation run measured, and the report made of it. Pure
/// functions over plain data, so they are tested without processes.
namespace sy::sim {

/// One root task the simulator sent. Times are seconds since the start.
struct root_record {
  std::string uid;
  double sent = 0;
  /// When its analysis was first announced; < 0: never (lost).
  double done = -1;
  enum priority prio = priority::normal;
  std::size_t producer = 0;
  /// From the first announcement: routed tasks Finished and Crashed.
  int finished = 0;
  int crashed = 0;
  /// Announcements received (a retry or a redelivery can announce again).
  int announcements = 0;
  /// Task uids listed by more than one announcement of this root.
  int repeated_tasks = 0;
};

/// A point of the time series.
struct sample {
  double t = 0;
  std::uint64_t sent = 0;
  std::uint64_t completed = 0;
  /// Tasks in each identity's queue, and in the unrouted stream ("(routing)").
  std::map<std::string, std::uint64_t> depth;
};

/// A fault as it happened.
struct fault_mark {
  double t = 0;
  std::string label;
};

/// Nearest-rank percentile `p` (0..1) of ascending `sorted`: the smallest
/// value with at least `p` of the samples at or below it; 0 if empty.
double percentile(const std::vector<double>& sorted, double p);

/// Pairs (high, low) of completed roots where the low-priority root was sent
/// after the high-priority one but completed before it.
std::uint64_t count_priority_inversions(const std::vector<root_record>& roots);

/// The report: totals (sent, completed, lost, finished and crashed tasks,
/// roots announced more than once, tasks listed twice), throughput over
/// time, end-to-end latency percentiles overall, per producer and per
/// priority, queue wait and processing percentiles per identity (from
/// `identity_metrics`: identity → summed node metrics), priority
/// inversions, and the faults.
value make_report(const scenario& s, const std::vector<root_record>& roots,
                  const std::vector<sample>& samples, const std::vector<fault_mark>& faults,
                  const value& identity_metrics, double producing_ended);

/// Queue depth per identity and completions per second over time, faults
/// as marked vertical lines: a self-contained SVG document.
std::string render_svg(const std::string& title, const std::vector<sample>& samples,
                       const std::vector<fault_mark>& faults);

} // namespace sy::sim
