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
/// While the initial values are replayed a tree can look finished for a
/// moment (a parent's Finished record may come before its child's Declared
/// one, which is newer), so completions are reported only after
/// `caught_up()`. Not thread-safe.
class analysis_tracker {
public:
  /// A record of `root_uid` was written.
  void put(std::string_view root_uid, record_state record);
  /// A record was deleted or purged.
  void remove(std::string_view root_uid, std::string_view uid);
  /// The replay of existing records is over.
  void caught_up();

  /// Analyses that completed since the last call; they are forgotten, so a
  /// later record of the same root starts a new round.
  std::vector<completed_analysis> take_completed();

  /// Tasks Started before `cutoff` (Unix seconds), as (root, record).
  std::vector<std::pair<std::string, record_state>> started_before(double cutoff) const;

  /// Analyses currently tracked.
  std::size_t size() const { return roots_.size(); }

private:
  struct root_state {
    std::map<std::string, record_state, std::less<>> records;
    std::size_t live = 0;
  };

  void touch(const std::string& root, const root_state& state);

  std::map<std::string, root_state, std::less<>> roots_;
  /// Roots whose live count reached 0 since the last `take_completed`.
  std::set<std::string> candidates_;
  bool caught_up_ = false;
};

} // namespace sy::pipeline
