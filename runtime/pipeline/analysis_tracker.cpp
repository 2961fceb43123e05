#include "runtime/pipeline/analysis_tracker.hpp"

#include <algorithm>
#include <limits>

namespace sy::pipeline {

namespace {

bool is_live(task_status s) {
  return !is_terminal(s);
}

} // namespace

bool analysis_tracker::counts_live(const root_state& state, std::string_view root,
                                   const record_state& record) {
  if (!is_live(record.status)) return false;
  return !(state.sole_fork_read && record.uid == root && record.status == task_status::declared);
}

void analysis_tracker::touch(const std::string& root, const root_state& state) {
  if (state.live == 0) candidates_.insert(root);
}

void analysis_tracker::put(std::string_view root_uid, record_state record) {
  auto i = roots_.find(root_uid);
  if (i == roots_.end()) i = roots_.emplace(std::string{root_uid}, root_state{}).first;
  auto& state = i->second;
  auto j = state.records.find(record.uid);
  if (j != state.records.end()) {
    if (counts_live(state, root_uid, j->second)) state.live--;
    j->second = std::move(record);
  } else {
    auto uid = record.uid;
    j = state.records.emplace(std::move(uid), std::move(record)).first;
  }
  if (counts_live(state, root_uid, j->second)) state.live++;
  const auto& written = j->second;
  if (written.uid == root_uid && !is_live(written.status)) state.root_done = true;
  if (written.sole_fork && !state.sole_fork_read) {
    // The root's routing is complete. A Declared record of the root (a
    // producer that wrote one without referring to resources) stops being
    // live.
    if (auto r = state.records.find(root_uid);
        r != state.records.end() && counts_live(state, root_uid, r->second))
      state.live--;
    state.sole_fork_read = true;
    state.root_done = true;
  }
  for (const auto& uid : written.spawned) {
    if (state.records.count(uid) > 0) continue;
    record_state listed;
    listed.uid = uid;
    listed.last_update = written.last_update;
    listed.parent_uid = written.uid;
    listed.unseen = true;
    state.records.emplace(uid, std::move(listed));
    state.live++;
  }
  touch(i->first, state);
}

void analysis_tracker::remove(std::string_view root_uid, std::string_view uid) {
  auto i = roots_.find(root_uid);
  if (i == roots_.end()) return;
  auto& state = i->second;
  auto j = state.records.find(uid);
  if (j == state.records.end()) return;
  if (counts_live(state, root_uid, j->second)) state.live--;
  state.records.erase(j);
  if (state.records.empty()) {
    // Nothing left to announce or collect: removed by hand or by a retry.
    candidates_.erase(i->first);
    roots_.erase(i);
    return;
  }
  touch(i->first, state);
}

std::vector<completed_analysis> analysis_tracker::take_completed() {
  std::vector<completed_analysis> out;
  for (const auto& root : candidates_) {
    auto i = roots_.find(root);
    if (i == roots_.end() || i->second.live > 0 || !i->second.root_done) continue;
    completed_analysis done{root, {}, {}};
    for (auto& [_, r] : i->second.records)
      (r.status == task_status::crashed ? done.crashed : done.finished).push_back(std::move(r));
    roots_.erase(i);
    out.push_back(std::move(done));
  }
  candidates_.clear();
  return out;
}

std::vector<std::pair<std::string, record_state>>
analysis_tracker::started_before(double cutoff) const {
  std::vector<std::pair<std::string, record_state>> out;
  for (const auto& [root, state] : roots_) {
    if (state.live == 0) continue;
    for (const auto& [_, r] : state.records)
      if (r.status == task_status::started && r.last_update < cutoff) out.emplace_back(root, r);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>>
analysis_tracker::unseen_before(double cutoff) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [root, state] : roots_) {
    if (state.live == 0) continue;
    for (const auto& [uid, r] : state.records)
      if (r.unseen && r.last_update < cutoff) out.emplace_back(root, uid);
  }
  return out;
}

std::vector<std::pair<std::string, double>>
analysis_tracker::unconfirmed_before(double cutoff) const {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [root, state] : roots_) {
    if (state.live > 0 || state.root_done) continue;
    auto oldest = std::numeric_limits<double>::max();
    auto newest = 0.0;
    for (const auto& [_, r] : state.records) {
      oldest = std::min(oldest, r.last_update);
      newest = std::max(newest, r.last_update);
    }
    if (newest < cutoff) out.emplace_back(root, oldest);
  }
  return out;
}

void analysis_tracker::confirm_root(std::string_view root_uid) {
  auto i = roots_.find(root_uid);
  if (i == roots_.end()) return;
  i->second.root_done = true;
  touch(i->first, i->second);
}

} // namespace sy::pipeline
