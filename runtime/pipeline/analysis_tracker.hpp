#pragma once

#include "runtime/task/task.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sy::pipeline {

/// The state of one task record as the housekeeper sees it.
struct record_state {
  std::string uid;
  task_status status = task_status::declared;
  /// The record's KV revision (its sequence in the bucket's stream).
  std::uint64_t revision = 0;
  /// The task's `last_update` (Unix seconds).
  double last_update = 0;
  /// The identity a routed task was forked for; empty for unrouted ones.
  std::string receiver;
  std::string parent_uid;
  /// The uids of the tasks it declared (`task::spawned`).
  std::vector<std::string> spawned;
  /// The only fork of a root without a routed record (`task::sole_fork`).
  bool sole_fork = false;
  /// Not read yet: a task some record listed as spawned.
  bool unseen = false;
};

/// An analysis whose last live task ended.
struct completed_analysis {
  std::string root_uid;
  std::vector<record_state> finished;
  std::vector<record_state> crashed;
};

/// Follows the records of `sy_tasks` in stream order and tells when an
/// analysis has no live (Declared, Spawned, Started) task left. Pure
/// bookkeeping, no I/O: the housekeeper feeds it and acts on its answers.
///
/// The bucket keeps one revision per key, so a reader can miss records: a
/// fork's Spawned record is gone once its Started one is written, and a
/// replay shows a parent's Finished record before its child's newer one.
/// Stream order alone would then show a tree as finished too early. So a
/// record that lists the tasks it declared (`record_state::spawned`) makes
/// each of them live until its own record is read: an analysis completes
/// only when every task known or listed ended. A listed task whose record
/// never comes (removed by hand, or a removal cut short) is looked up by the
/// housekeeper (`unseen_before`) and `remove`d when the bucket has no such
/// key.
///
/// Nothing lists the root, and a root published without a `Declared`
/// record (by any NATS client) has none until routed. So an analysis also
/// waits until its root's routing is known to be complete: its root's
/// record read as routed (or Crashed), a record of its sole fork read
/// (`task::sole_fork`: such a root has no routed record, and its `Declared`
/// record, if a producer wrote one anyway, then counts as routed), or
/// `confirm_root` after the
/// housekeeper found the record gone and the analysis announced before
/// (`unconfirmed_before`). Otherwise the forks of a routing cut short could
/// end the analysis before the rest were routed. Not thread-safe.
class analysis_tracker {
public:
  /// A record of `root_uid` was written.
  void put(std::string_view root_uid, record_state record);
  /// A record was deleted or purged.
  void remove(std::string_view root_uid, std::string_view uid);

  /// Analyses that completed since the last call; they are forgotten, so a
  /// later record of the same root starts a new round.
  std::vector<completed_analysis> take_completed();

  /// Tasks Started before `cutoff` (Unix seconds), as (root, record).
  std::vector<std::pair<std::string, record_state>> started_before(double cutoff) const;

  /// Tasks listed as spawned before `cutoff` (Unix seconds) whose record was
  /// not read yet, as (root, uid).
  std::vector<std::pair<std::string, std::string>> unseen_before(double cutoff) const;

  /// Analyses with no live task whose root was not read as routed, and
  /// whose newest record is older than `cutoff` (Unix seconds), as (root,
  /// `last_update` of its oldest record).
  std::vector<std::pair<std::string, double>> unconfirmed_before(double cutoff) const;

  /// The routing of `root_uid` is known to be complete without its record
  /// (removed after an earlier announcement); the analysis may complete.
  void confirm_root(std::string_view root_uid);

  /// Analyses currently tracked.
  std::size_t size() const { return roots_.size(); }

private:
  struct root_state {
    std::map<std::string, record_state, std::less<>> records;
    std::size_t live = 0;
    /// The root's record was read routed or crashed, a sole fork's record
    /// was read, or `confirm_root`.
    bool root_done = false;
    /// A sole fork's record was read: the root's own record, should it
    /// say Declared, is not live.
    bool sole_fork_read = false;
  };

  void touch(const std::string& root, const root_state& state);
  static bool counts_live(const root_state& state, std::string_view root,
                          const record_state& record);

  std::map<std::string, root_state, std::less<>> roots_;
  /// Roots whose live count reached 0 since the last `take_completed`.
  std::set<std::string> candidates_;
};

} // namespace sy::pipeline
