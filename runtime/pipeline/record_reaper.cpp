#include "runtime/pipeline/record_reaper.hpp"

#include <algorithm>

namespace sy::pipeline {

void record_reaper::delivered(std::string_view key, std::uint64_t seq, bool released, double now) {
  last_delivered_ = std::max(last_delivered_, seq);
  auto [i, first] = current_.try_emplace(std::string{key}, seq);
  if (!first) {
    drop(i->second);
    i->second = seq;
  }
  if (released)
    released_.emplace(seq, released_message{&i->first, now});
  else
    kept_.emplace(seq, &i->first);
  settle_floor();
}

void record_reaper::release(std::uint64_t seq, double now) {
  auto i = kept_.find(seq);
  if (i == kept_.end()) return;
  released_.emplace(seq, released_message{i->second, now});
  kept_.erase(i);
  settle_floor();
}

std::size_t record_reaper::purge_threshold(std::size_t at_least) const {
  auto in_stream = kept_.size() + released_.size();
  return std::max({at_least, std::size_t{1}, in_stream / purge_share});
}

void record_reaper::purged(std::uint64_t seq) {
  while (!kept_.empty() && kept_.begin()->first < seq)
    forget(kept_.begin()->first, kept_.begin()->second);
  while (!released_.empty() && released_.begin()->first < seq)
    forget(released_.begin()->first, released_.begin()->second.key);
  settle_floor();
}

std::size_t record_reaper::released_below(std::uint64_t seq, std::size_t enough) const {
  auto n = below_floor_;
  for (auto i = released_.lower_bound(floor_); i != released_.end() && i->first < seq && n < enough;
       ++i)
    ++n;
  return n;
}

bool record_reaper::overdue(double cutoff) const {
  return std::any_of(released_.begin(), released_.end(),
                     [cutoff](const auto& r) { return r.second.since < cutoff; });
}

std::vector<std::uint64_t> record_reaper::take_overdue(double cutoff) {
  std::vector<std::uint64_t> out;
  for (const auto& [seq, r] : released_)
    if (r.since < cutoff) out.push_back(seq);
  for (auto seq : out)
    forget(seq, released_.at(seq).key);
  settle_floor();
  return out;
}

void record_reaper::vanished(std::uint64_t seq) {
  if (auto i = kept_.find(seq); i != kept_.end())
    forget(seq, i->second);
  else if (auto j = released_.find(seq); j != released_.end())
    forget(seq, j->second.key);
  settle_floor();
}

void record_reaper::drop(std::uint64_t seq) {
  if (auto i = released_.find(seq); i != released_.end()) {
    if (seq < floor_) --below_floor_;
    released_.erase(i);
  } else {
    kept_.erase(seq);
  }
}

void record_reaper::forget(std::uint64_t seq, key_ref key) {
  drop(seq);
  if (auto i = current_.find(*key); i != current_.end() && i->second == seq) current_.erase(i);
}

void record_reaper::settle_floor() {
  auto floor = kept_.empty() ? last_delivered_ + 1 : kept_.begin()->first;
  if (floor <= floor_) return;
  for (auto i = released_.lower_bound(floor_); i != released_.end() && i->first < floor; ++i)
    ++below_floor_;
  floor_ = floor;
}

} // namespace sy::pipeline
