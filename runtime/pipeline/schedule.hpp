#pragma once

#include "runtime/core/expected.hpp"
#include "runtime/core/value.hpp"
#include "runtime/task/task.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace sy::pipeline {

/// A periodic schedule (docs/PLUGINS.md "Schedules"): a task blueprint sent
/// again and again, every `every` seconds or at the times of a cron
/// expression, each time late by a random jitter of up to `jitter` seconds,
/// and skipped when the blueprint's previous analysis finished less than
/// `grace` seconds ago. Stored as JSON in bucket `sy_schedules` under its id.
struct schedule {
  /// Key token: `[A-Za-z0-9_-]`.
  std::string id;
  /// The blueprint.
  value headers = value::object();
  value payload = value::object();
  enum priority priority = priority::normal;
  /// Seconds between two runs; 0 when `cron` is set.
  double every = 0;
  /// A cron expression (UTC); empty when `every` is set.
  std::string cron;
  double jitter = 0;
  double grace = 0;
  bool enabled = true;
  /// When it runs next (Unix seconds).
  double next_run = 0;
  /// The root uid of the last task it sent, and when.
  std::string last_root;
  double last_sent = 0;
  std::uint64_t sent = 0;
  std::uint64_t skipped = 0;
  double created_at = 0;
};

value to_json(const schedule& s);

/// Reads a stored schedule; errors name the key that is wrong.
expected<schedule> schedule_from_json(const value& json);

/// Checks a schedule a user made: id, exactly one of `every` (> 0) and
/// `cron` (parses), jitter and grace >= 0, headers an object of scalars.
expected<void> validate(const schedule& s);

/// The run after `after` (Unix seconds), before jitter: `after + every`, or
/// the next cron time after `after`.
expected<double> next_run_after(const schedule& s, double after);

/// Plans the first run of a new schedule made at `now` (sets `created_at`
/// and `next_run`): an interval schedule runs at once, then every interval;
/// a cron one at its next time.
expected<void> plan_first_run(schedule& s, double now);

/// What a due schedule does now.
enum class schedule_action {
  wait, ///< not due (or disabled)
  send, ///< due: send the blueprint
  skip, ///< due, but the previous analysis finished within the grace period
};

/// Decides for `s` at `now`; `last_finished_at` is when the analysis of
/// `s.last_root` completed, if it did.
schedule_action decide(const schedule& s, double now, std::optional<double> last_finished_at);

/// The task a run sends: the blueprint with a uid derived from the schedule
/// id and the run's planned time, so sending the same run twice (a retry, two
/// leaders for a moment) stores it once (JetStream's duplicate window).
task blueprint_task(const schedule& s);

} // namespace sy::pipeline
