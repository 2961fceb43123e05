#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

/// Which messages of `KV_sy_tasks` the housekeeping leader may remove, and
/// how (docs/PIPELINE.md "Removing records"). The bucket keeps one message
/// per key and the leader's feed delivers every message in sequence order,
/// so the leader knows the message of every key. A message stays until it
/// is released: its analysis was announced, its `crashed_ttl` ran out, or it
/// is a delete marker the leader has read. Released messages go together in
/// one purge of everything below the oldest message that stays (the
/// floor); those above a floor that does not move go one by one.
///
/// Bookkeeping only: the leader makes the broker calls and reports them
/// here. Not thread-safe; the leader's actor owns it.
namespace sy::pipeline {

class record_reaper {
public:
  /// The feed delivered `seq`, now `key`'s message: the bucket dropped the
  /// key's earlier one. A marker (`released`) may go at once; a record
  /// stays until `release`.
  void delivered(std::string_view key, std::uint64_t seq, bool released, double now);

  /// Message `seq` may go. Ignored unless it is still its key's message.
  void release(std::uint64_t seq, double now);

  /// The lowest sequence that stays: the oldest message not released, or
  /// the one after the last delivered when every message is released. A
  /// purge below it removes released messages only (messages not yet
  /// delivered have higher sequences).
  std::uint64_t floor() const { return floor_; }

  /// Released messages below `floor()`: what one purge would remove.
  std::size_t purgeable() const { return below_floor_; }

  /// Released messages in all.
  std::size_t released() const { return released_.size(); }

  /// Whether a purge now removes at least `at_least` messages (1 at the
  /// least) and at least one per `purge_share` messages in the stream: a
  /// purge makes nats-server 2.9 match its filter against every subject
  /// in the stream, twice.
  bool purge_due(std::size_t at_least) const { return purgeable() >= purge_threshold(at_least); }

  /// The least a purge must remove to be due: `at_least`, 1, and one per
  /// `purge_share` messages in the stream.
  std::size_t purge_threshold(std::size_t at_least) const;

  static constexpr std::size_t purge_share = 8;

  /// The stream was purged below `seq`: its messages there are gone.
  void purged(std::uint64_t seq);

  /// Calls `visit(seq, key)` on the messages that stay, oldest first, until
  /// it returns false. `key` lives while its message stays.
  template <class Visit> void visit_kept(Visit&& visit) const {
    for (const auto& [seq, key] : kept_)
      if (!visit(seq, std::string_view{*key})) return;
  }

  /// Released messages below `seq`, counted up to `enough` at most: what a
  /// purge would remove once every message that stays below `seq` moved
  /// past it. Walks the released messages above the floor until `enough`.
  std::size_t released_below(std::uint64_t seq, std::size_t enough) const;

  /// Whether a message released before `cutoff` waits above the floor.
  bool overdue(double cutoff) const;

  /// The messages released before `cutoff`, to be removed one by one; they
  /// are forgotten here.
  std::vector<std::uint64_t> take_overdue(double cutoff);

  /// Message `seq` is not in the stream any more (removed by someone else):
  /// it no longer holds the floor.
  void vanished(std::uint64_t seq);

private:
  /// A key of `current_` (its nodes do not move).
  using key_ref = const std::string*;

  struct released_message {
    key_ref key;
    double since = 0;
  };

  /// Drops message `seq`, kept or released; `settle_floor` after.
  void drop(std::uint64_t seq);

  /// Drops message `seq` and, if it is still its key's message, the key;
  /// `settle_floor` after.
  void forget(std::uint64_t seq, key_ref key);

  /// Moves the floor up to the oldest message that stays, counting the
  /// released messages it passes: the floor only rises, so each released
  /// message is counted once.
  void settle_floor();

  /// Messages that stay, by sequence: their keys.
  std::map<std::uint64_t, key_ref> kept_;
  /// Messages that may go, by sequence.
  std::map<std::uint64_t, released_message> released_;
  /// Each key's current message.
  std::unordered_map<std::string, std::uint64_t> current_;
  std::uint64_t last_delivered_ = 0;
  std::uint64_t floor_ = 1;
  /// Released messages below `floor_`.
  std::size_t below_floor_ = 0;
};

} // namespace sy::pipeline
