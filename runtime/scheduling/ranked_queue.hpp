#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sy::scheduling {

/// How a `ranked_queue` admits a push whose hash is already waiting, and how
/// many entries it holds (the KAT scheduler's priority queue rules).
struct queue_rules {
  /// Most waiting entries; 0 = unbounded. A full queue refuses every push
  /// but manual ones, updates included, as KAT's does (back-pressure: the
  /// caller leaves the task in the stream and pushes it again later).
  std::size_t maxsize = 0;
  /// A push of a waiting hash replaces the waiting entry's content.
  bool allow_replace = false;
  /// ... when its content (payload digest) differs.
  bool allow_updates = false;
  /// ... when its priority class differs.
  bool allow_priority_updates = false;
};

/// What became of a push.
enum class push_result {
  added,     ///< a new waiting entry
  updated,   ///< replaced a waiting entry of the same hash, keeping its id
  duplicate, ///< the hash is waiting and the rules do not allow an update
  full,      ///< maxsize reached: try again after a pop
};

const char* to_string(push_result r);

/// One push: `value` waits under `hash`, ordered by `score` (higher first,
/// FIFO among equal scores).
template <class T> struct queue_item {
  std::string hash;
  double score = 0;
  /// Priority class (e.g. high/normal/low), compared for
  /// `allow_priority_updates`.
  int priority = 0;
  /// Digest of the content, compared for `allow_updates`.
  std::string content;
  /// Manual pushes bypass `maxsize`.
  bool manual = false;
  T value;
};

/// A waiting entry as `pop` returns it.
template <class T> struct queued {
  /// Given on first push and kept by updates.
  std::uint64_t id = 0;
  queue_item<T> item;
};

/// A priority queue with deduplication by hash: a binary heap indexed by
/// hash, so push, update and pop are O(log n). Not thread-safe; one
/// scheduler owns one queue.
template <class T> class ranked_queue {
public:
  explicit ranked_queue(queue_rules rules = {}) : rules_(rules) {}

  push_result push(queue_item<T> item) {
    if (full() && !item.manual) return push_result::full;
    auto found = by_hash_.find(item.hash);
    if (found == by_hash_.end()) {
      auto hash = item.hash;
      heap_.push_back(node{queued<T>{++last_id_, std::move(item)}, ++last_seq_});
      by_hash_.emplace(std::move(hash), heap_.size() - 1);
      sift_up(heap_.size() - 1);
      return push_result::added;
    }
    auto& waiting = heap_[found->second].entry.item;
    bool allowed = rules_.allow_replace ||
                   (rules_.allow_updates && waiting.content != item.content) ||
                   (rules_.allow_priority_updates && waiting.priority != item.priority);
    if (!allowed) return push_result::duplicate;
    auto at = found->second;
    auto old_score = waiting.score;
    waiting = std::move(item);
    // The entry keeps its id and its place among equal scores.
    if (waiting.score > old_score)
      sift_up(at);
    else
      sift_down(at);
    return push_result::updated;
  }

  /// Takes the best entry; none when empty.
  std::optional<queued<T>> pop() {
    if (heap_.empty()) return std::nullopt;
    auto top = std::move(heap_.front().entry);
    by_hash_.erase(top.item.hash);
    if (heap_.size() > 1) {
      heap_.front() = std::move(heap_.back());
      heap_.pop_back();
      by_hash_[heap_.front().entry.item.hash] = 0;
      sift_down(0);
    } else {
      heap_.pop_back();
    }
    return top;
  }

  /// The waiting entry of `hash`, if any.
  const queued<T>* find(const std::string& hash) const {
    auto found = by_hash_.find(hash);
    return found == by_hash_.end() ? nullptr : &heap_[found->second].entry;
  }

  std::size_t size() const { return heap_.size(); }
  bool empty() const { return heap_.empty(); }
  bool full() const { return rules_.maxsize > 0 && heap_.size() >= rules_.maxsize; }

private:
  struct node {
    queued<T> entry;
    std::uint64_t seq; ///< insertion order: FIFO among equal scores
  };

  bool before(const node& a, const node& b) const {
    if (a.entry.item.score != b.entry.item.score) return a.entry.item.score > b.entry.item.score;
    return a.seq < b.seq;
  }

  void place(std::size_t i, node n) {
    by_hash_[n.entry.item.hash] = i;
    heap_[i] = std::move(n);
  }

  void sift_up(std::size_t i) {
    auto n = std::move(heap_[i]);
    while (i > 0) {
      auto parent = (i - 1) / 2;
      if (!before(n, heap_[parent])) break;
      place(i, std::move(heap_[parent]));
      i = parent;
    }
    place(i, std::move(n));
  }

  void sift_down(std::size_t i) {
    auto n = std::move(heap_[i]);
    for (;;) {
      auto child = 2 * i + 1;
      if (child >= heap_.size()) break;
      if (child + 1 < heap_.size() && before(heap_[child + 1], heap_[child])) ++child;
      if (!before(heap_[child], n)) break;
      place(i, std::move(heap_[child]));
      i = child;
    }
    place(i, std::move(n));
  }

  queue_rules rules_;
  std::vector<node> heap_;
  std::unordered_map<std::string, std::size_t> by_hash_;
  std::uint64_t last_id_ = 0;
  std::uint64_t last_seq_ = 0;
};

} // namespace sy::scheduling
