#pragma once

#include "runtime/core/value.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sy {

/// Karton's three priority classes. A task tree has one priority: the root's.
enum class priority : std::uint8_t { low = 0, normal = 1, high = 2 };

/// Karton's five task states (DESIGN §1).
enum class task_status : std::uint8_t { declared, spawned, started, finished, crashed };

std::string_view to_string(priority p);
std::string_view to_string(task_status s);
/// Parses "high", "normal", "low" (exact, lowercase).
std::optional<priority> parse_priority(std::string_view text);
/// Parses "Declared", "Spawned", "Started", "Finished", "Crashed" (exact).
std::optional<task_status> parse_task_status(std::string_view text);

/// True for Finished and Crashed: nothing more happens to the task by itself.
inline bool is_terminal(task_status s) {
  return s == task_status::finished || s == task_status::crashed;
}

/// A unit of work, described by headers (DESIGN §1). A plain value type:
/// copying is cheap enough for headers and payloads of a few KiB; large data
/// belongs in resources.
///
/// Invariants kept by the functions that create tasks (`make_task`,
/// `derive_child`, `fork_for`), not by the struct itself:
/// - every key of `headers_persistent` is in `headers` with the same value,
///   and likewise for `payload_persistent` in `payload`;
/// - `root_uid` is the uid of the first task of the tree.
struct task {
  std::string uid;
  /// The routed task whose processing produced this one; empty for a root.
  std::string parent_uid;
  /// The analysis (task tree) this task belongs to.
  std::string root_uid;
  /// The unrouted task (or crashed task, on retry) this one was forked from.
  std::string orig_uid;
  /// Headers used for routing; includes the persistent ones.
  value headers = value::object();
  value payload = value::object();
  /// Inherited by every descendant; they cannot be overridden.
  value headers_persistent = value::object();
  value payload_persistent = value::object();
  enum priority priority = priority::normal;
  task_status status = task_status::declared;
  /// Why the task crashed; empty otherwise.
  std::string error;
  /// Unix time in seconds of the last status change.
  double last_update = 0;
  /// The consumer identity a routed task was forked for; empty while unrouted.
  std::string receiver;
  /// How many times this task was handed to a worker.
  std::uint32_t attempt = 0;
  /// The ranker's last score; informational.
  double score = 0;
  /// Only in a task's record in `sy_tasks`, never in queue messages: the
  /// uids of the tasks it declared (the forks of a routed task, the children
  /// of a finished one), so that a reader of the bucket knows of them even
  /// when it missed their first records (docs/PIPELINE.md). Encoded only
  /// when not empty.
  std::vector<std::string> spawned;
  /// Set by a router on the only fork of a root that has no record of its
  /// own: no routed record is written for such a root, and this fork's
  /// records tell the housekeeper that its routing is complete
  /// (docs/PIPELINE.md). In the fork's queue message too, so that every
  /// record of the fork keeps it. Encoded only when set.
  bool sole_fork = false;
  /// Top-level keys this version does not know, as (key, msgpack bytes of
  /// the value) in their original order; written back on re-encode.
  std::vector<std::pair<std::string, std::string>> unknown_fields;
};

bool operator==(const task& a, const task& b);
inline bool operator!=(const task& a, const task& b) {
  return !(a == b);
}

/// Returns the wall clock as Unix seconds, the unit of `task::last_update`.
double unix_now();

/// Creates a root task: a new uid that is also its root uid, status Declared.
/// Persistent headers and payload are merged into the plain ones.
task make_task(value headers, value payload = value::object(), enum priority p = priority::normal,
               value headers_persistent = value::object(),
               value payload_persistent = value::object());

/// Creates a child of `parent` (a routed task being processed): new uid, same
/// root, `parent_uid` = parent's uid, the root's priority, and the parent's
/// persistent headers and payload, which win over `headers` and `payload`.
/// Extra persistent entries given here are added for the child's subtree.
task derive_child(const task& parent, value headers, value payload = value::object(),
                  value headers_persistent = value::object(),
                  value payload_persistent = value::object());

/// Forks the unrouted task `unrouted` for consumer `identity`: deterministic
/// uid (`fork_uid`), `orig_uid` = the unrouted uid, `receiver` = identity,
/// status Spawned. Everything else is kept.
task fork_for(const task& unrouted, std::string_view identity);

/// The routed record a router writes for `unrouted` after forking it: the
/// same task, Finished, with its forks in `spawned`.
task routed_record(const task& unrouted, std::vector<std::string> forks);

/// Whether `t` is the sole fork of its root (`task::sole_fork`, forked
/// from the root itself): its record stands for the root's routed record.
inline bool is_sole_fork_of_root(const task& t) {
  return t.sole_fork && t.orig_uid == t.root_uid;
}

/// The routed record of the root that `sole_fork` (a task for which
/// `is_sole_fork_of_root` holds) was forked from, which its router did not
/// write: what `routed_record` would have given, as of the fork's
/// `last_update`.
task routed_root_of(const task& sole_fork);

/// Creates the retry of a crashed task: new random uid, `orig_uid` = the
/// crashed task's uid, status Spawned, attempt reset; same receiver, tree and
/// content.
task make_retry(const task& crashed);

} // namespace sy
