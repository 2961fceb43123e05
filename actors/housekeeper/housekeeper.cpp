#include "actors/housekeeper/housekeeper.hpp"

#include "actors/core/delivery.hpp"
#include "actors/core/mailbox_batch.hpp"
#include "runtime/broker/consumer_spec.hpp"
#include "runtime/broker/object_store.hpp"
#include "runtime/broker/pull_consumer.hpp"
#include "runtime/broker/stream_spec.hpp"
#include "runtime/broker/subscription.hpp"
#include "runtime/log/log.hpp"
#include "runtime/pipeline/analysis_events.hpp"
#include "runtime/pipeline/analysis_tracker.hpp"
#include "runtime/pipeline/crashed_index.hpp"
#include "runtime/pipeline/keepers.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/pipeline/live_nodes.hpp"
#include "runtime/pipeline/queue_drain.hpp"
#include "runtime/pipeline/record_reaper.hpp"
#include "runtime/pipeline/schedule_runner.hpp"
#include "runtime/task/codec.hpp"
#include "runtime/task/resource_ref.hpp"
#include "runtime/task/uid.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>

namespace sy::actors {

/// Confirmations of analysis events, from broker threads to the actor.
struct event_outcomes {
  std::mutex mutex;
  /// (msg id, stored)
  std::vector<std::pair<std::string, bool>> results;
};

struct housekeeper_state {
  /// Revision of our leadership lease; empty while not leading.
  std::optional<std::uint64_t> lease;
  /// Reads every record of `sy_tasks` (last value per key, then each
  /// change) while leading; its consumer is this leader's own.
  std::unique_ptr<broker::pull_consumer> feed;
  std::string feed_consumer;
  pipeline::analysis_tracker tracker;
  /// Which messages of the bucket may go, and when (the feed's view).
  pipeline::record_reaper reaper;
  /// The oldest record that stays, once found still stored: not looked up
  /// again while it holds the floor.
  std::uint64_t floor_checked = 0;
  /// The keeper's sequence when it was last moved for the floor: moved
  /// once, not again until the feed brings the new one.
  std::uint64_t keeper_moved = 0;
  /// When the leader last looked for a purge between its passes.
  std::chrono::steady_clock::time_point purge_checked{};
  /// Crashed records to delete, by expiry time (Unix seconds): their keys.
  std::multimap<double, std::string> crashed;
  /// A crashed record above, as the leader last read it.
  struct crashed_record {
    std::uint64_t revision = 0;
    double last_update = 0;
    /// When its move was asked for; none: not asked since read.
    std::optional<std::chrono::steady_clock::time_point> move_asked;
  };
  std::unordered_map<std::string, crashed_record> crashed_records;
  /// Non-persistent binds no live node serves, since when (Unix seconds).
  std::map<std::string, double> offline_since;
  /// When this leader last wrote the keepers; empty: not yet.
  std::optional<std::chrono::steady_clock::time_point> keepers_written;
  /// Queues of removed binds being emptied.
  std::vector<std::unique_ptr<pipeline::queue_drain>> drains;
  /// Replies of the asynchronous stream API calls, to log failures.
  std::string api_inbox;
  std::optional<broker::subscription> api_replies;
  /// Crashed records read back to be moved (`move_crashed`).
  std::string move_inbox;
  std::optional<broker::subscription> move_replies;
  /// Analysis events published and not yet confirmed, by msg id; published
  /// again until stored. Their Finished records are removed only then: a
  /// leader that dies (or steps down) first leaves them to the next one,
  /// which announces the analysis again (the same msg id: a duplicate the
  /// stream drops if the first did arrive).
  struct pending_announcement {
    broker::outgoing_message event;
    std::vector<std::uint64_t> finished_revisions;
    std::vector<std::string> finished_receivers;
  };
  std::map<std::string, pending_announcement> announcing;
  std::shared_ptr<event_outcomes> outcomes = std::make_shared<event_outcomes>();
  /// Tells this actor that outcomes came in, so that the records of a
  /// confirmed analysis go at once (a leader change in between would replay
  /// them).
  std::function<void()> wake;
  /// Sends the blueprints of due schedules.
  std::optional<pipeline::producer> producer;
  std::mt19937_64 rng{std::random_device{}()};
  /// Analyses whose root is still being routed, and when to look again.
  std::map<std::string, double> root_rechecks;
  /// The highest revision this leader's feed delivered: a record looked up
  /// at or below it was delivered already, one above it is still to come.
  std::uint64_t feed_revision = 0;
  /// The resources' object store, and when it was last collected.
  std::optional<broker::object_store> resources;
  std::chrono::steady_clock::time_point resources_collected{};
  std::shared_ptr<spdlog::logger> log = log::get("housekeeper");
};

namespace {

using self_pointer = housekeeper_actor::stateful_pointer<housekeeper_state>;

/// Tasks listed in one analysis event at most; the counts are always whole.
constexpr std::size_t max_event_tasks = 1000;

/// Sends a JetStream API request without waiting; failures are logged by
/// the reply subscription.
void api_call(housekeeper_state& st, const housekeeper_deps& deps, const std::string& subject,
              const value& body) {
  (void)deps.conn->publish(subject, body.dump(), {}, st.api_inbox);
}

void delete_record(housekeeper_state& st, const housekeeper_deps& deps, std::uint64_t revision) {
  (void)broker::request_message_delete(*deps.conn, pipeline::tasks_stream, revision, st.api_inbox);
}

/// Records below the floor worth a purge between two passes: each purge
/// also makes nats-server rewrite the rest of the stream's block.
constexpr std::size_t purge_batch = 1024;

/// How often, at most, the leader looks for a purge between its passes.
constexpr auto purge_check_interval = std::chrono::milliseconds{50};

/// Records that hold the floor looked at, at most, to find the oldest one
/// that cannot move: longer runs of Crashed records stay in place.
constexpr std::size_t max_run = 4096;

/// Moves asked for at one look, at most (a read request each, and its
/// write); the next look asks for the next ones.
constexpr std::size_t max_moves = 16;

/// A crashed record is moved only when the purge it lets through removes
/// this many records per move: removing them one by one costs a request
/// each.
constexpr std::size_t records_per_move = 4;

/// A move that did not come back on the feed within this time is asked
/// for again.
constexpr auto move_retry = std::chrono::seconds{5};

/// Whether message `seq` is still the stored record of `key` (not removed
/// by someone else). Blocking.
expected<bool> still_stored(const housekeeper_deps& deps, const std::string& key,
                            std::uint64_t seq) {
  auto stored =
      broker::next_stored_message(*deps.conn, pipeline::tasks_stream,
                                  "$KV." + std::string{pipeline::tasks_bucket} + "." + key, seq);
  if (!stored) return stored.error();
  return *stored && (*stored)->seq == seq;
}

/// Whether message `seq` of `key`, holding the floor, is the Crashed record
/// of an announced analysis, whose move was not asked for just now.
bool is_movable(const housekeeper_state& st, std::uint64_t seq, std::string_view key,
                std::chrono::steady_clock::time_point now) {
  if (st.crashed_records.empty()) return false;
  auto i = st.crashed_records.find(std::string{key});
  return i != st.crashed_records.end() && i->second.revision == seq &&
         (!i->second.move_asked || now - *i->second.move_asked > move_retry);
}

/// Asks for crashed record `key`'s message `seq`, to write it again,
/// unchanged, at the stream's end (the reply's handler, `rewrite_stored`).
/// Asynchronous: the feed brings the moved record. A move asked for before
/// that never came is asked again, unless the message is gone (removed by
/// someone else; blocking): it then no longer holds the floor.
void move_crashed(housekeeper_state& st, const housekeeper_deps& deps, std::uint64_t seq,
                  const std::string& key, std::chrono::steady_clock::time_point now) {
  auto& record = st.crashed_records[key];
  if (record.move_asked) {
    auto stored = still_stored(deps, key, seq);
    if (stored && !*stored) return st.reaper.vanished(seq);
  }
  record.move_asked = now;
  (void)deps.conn->publish("$JS.API.DIRECT.GET." + std::string{pipeline::tasks_stream},
                           value{{"seq", seq}}.dump(), {}, st.move_inbox);
}

/// Writes a message read back by sequence (`move_crashed`) again to its
/// subject: compare-and-set on its sequence, so a record changed or
/// removed meanwhile (a retry) stays as it is. A message already gone is
/// left to the feed. Runs on a connection thread.
void rewrite_stored(broker::connection& conn, const std::shared_ptr<spdlog::logger>& log,
                    const broker::message& stored) {
  auto subject = stored.header("Nats-Subject");
  auto seq = stored.header("Nats-Sequence");
  if (stored.status() != 0 || !subject || !seq) return;
  conn.js_publish_async(
      {*subject, std::string{stored.data()}, {}, {}, std::strtoull(seq->c_str(), nullptr, 10)},
      [log, subject = *subject](expected<broker::pub_ack> ack) {
        if (!ack && ack.error().code != errc::conflict) // a conflict: the feed brings the change
          log->warn("record {} not moved: {}", subject, ack.error().message);
      });
}

/// Moves the Crashed records that hold the floor (`is_movable`; the keeper
/// among them moves by itself) to the stream's end, `max_moves` at a time,
/// if the purge this lets through once they all moved removes at least
/// `needed` records, and `records_per_move` per record moved. The floor
/// follows once the feed brings them. Returns whether it asked for any.
bool move_crashed_floor(housekeeper_state& st, const housekeeper_deps& deps, std::size_t needed) {
  auto now = std::chrono::steady_clock::now();
  std::vector<std::pair<std::uint64_t, std::string>> first; // the first to move
  std::size_t run = 0;
  auto next_kept = std::numeric_limits<std::uint64_t>::max();
  st.reaper.visit_kept([&](std::uint64_t seq, std::string_view key) {
    if (key == pipeline::tasks_keeper_key) return true;
    if (run == max_run || !is_movable(st, seq, key, now)) {
      next_kept = seq;
      return false;
    }
    if (run++ < max_moves) first.emplace_back(seq, key);
    return true;
  });
  if (run == 0) return false;
  auto want = std::max(needed, run * records_per_move);
  if (st.reaper.released_below(next_kept, want) < want) return false;
  for (const auto& [seq, key] : first)
    move_crashed(st, deps, seq, key, now);
  return true;
}

/// Purges the records released below the floor, if `record_reaper::
/// purge_due(at_least)`; otherwise moves the Crashed records holding the
/// floor back if that lets a purge through (`move_crashed_floor`), and
/// returns whether it did. A keeper holding the floor is moved to the
/// stream's end first; the floor follows once the feed brings the new
/// keeper. Blocking; the leader's own thread.
bool purge_released(housekeeper_state& st, const housekeeper_deps& deps, std::size_t at_least) {
  std::optional<std::uint64_t> keeper;
  st.reaper.visit_kept([&](std::uint64_t seq, std::string_view key) {
    if (key == pipeline::tasks_keeper_key) keeper = seq;
    return false;
  });
  if (keeper && *keeper != st.keeper_moved && st.reaper.released() > 0) {
    st.keeper_moved = *keeper;
    if (auto r = pipeline::move_tasks_keeper(*deps.tasks); !r)
      st.log->warn("finished records not removed yet: {}", r.error().message);
  }
  if (!st.reaper.purge_due(at_least))
    return move_crashed_floor(st, deps, st.reaper.purge_threshold(at_least));
  auto floor = st.reaper.floor();
  if (auto r =
          broker::purge_stream_below(*deps.conn, pipeline::tasks_stream,
                                     "$KV." + std::string{pipeline::tasks_bucket} + ".>", floor))
    st.reaper.purged(floor);
  else
    st.log->warn("finished records not removed yet: {}", r.error().message);
  return false;
}

/// Removes the records released so far (docs/PIPELINE.md "Removing
/// records"): everything below the floor in one purge, and what waited
/// above it for two passes one by one. A record holding the floor that
/// long is looked up once, and forgotten if it is gone (removed by someone
/// else). Blocking; the leader's own thread.
void reap(housekeeper_state& st, const housekeeper_deps& deps, const housekeeper_options& opts) {
  if (purge_released(st, deps, 1)) return; // the next pass purges past them
  auto cutoff = unix_now() - 2 * opts.interval.count() / 1000.0;
  if (!st.reaper.overdue(cutoff)) return;
  // A keeper holding the floor is on its way to the stream's end (the
  // feed brings the new one): the record after it is what holds them back.
  std::optional<std::pair<std::uint64_t, std::string>> holder;
  st.reaper.visit_kept([&](std::uint64_t seq, std::string_view key) {
    holder.emplace(seq, key);
    return key == pipeline::tasks_keeper_key;
  });
  if (!holder) return;
  const auto& [seq, key] = *holder;
  if (seq != st.floor_checked && key != pipeline::tasks_keeper_key) {
    auto stored = still_stored(deps, key, seq);
    if (!stored)
      return st.log->warn("finished records not removed yet: {}", stored.error().message);
    if (!*stored) {
      st.reaper.vanished(seq); // the next pass purges past it
      return;
    }
    st.floor_checked = seq;
    st.log->info("record {} stays (revision {}); the finished records after it are removed one by "
                 "one until it goes",
                 key, seq);
  }
  for (auto revision : st.reaper.take_overdue(cutoff))
    delete_record(st, deps, revision);
}

/// Publishes an analysis event; its confirmation goes to `st.outcomes`.
void publish_event(housekeeper_state& st, const housekeeper_deps& deps, const std::string& id,
                   const broker::outgoing_message& event) {
  deps.conn->js_publish_async(event, [outcomes = st.outcomes, log = st.log, wake = st.wake,
                                      id](expected<broker::pub_ack> ack) {
    if (!ack) log->warn("{} not stored yet ({}); publishing it again", id, ack.error().message);
    {
      std::lock_guard<std::mutex> guard{outcomes->mutex};
      outcomes->results.emplace_back(id, static_cast<bool>(ack));
    }
    if (wake) wake();
  });
}

/// Acts on the confirmations that came in: forgets stored events, publishes
/// the others again (the broker was unavailable for a moment; the msg id
/// makes a repeat of a stored one a duplicate the stream drops).
void settle_announcements(housekeeper_state& st, const housekeeper_deps& deps) {
  std::vector<std::pair<std::string, bool>> results;
  {
    std::lock_guard<std::mutex> guard{st.outcomes->mutex};
    results.swap(st.outcomes->results);
  }
  for (const auto& [id, stored] : results) {
    auto i = st.announcing.find(id);
    if (i == st.announcing.end()) continue;
    if (!stored) {
      publish_event(st, deps, id, i->second.event);
      continue;
    }
    auto now = unix_now();
    for (auto revision : i->second.finished_revisions)
      st.reaper.release(revision, now);
    for (const auto& receiver : i->second.finished_receivers)
      deps.metrics->of(receiver).garbage_collected++;
    st.announcing.erase(i);
  }
}

void announce(housekeeper_state& st, const housekeeper_deps& deps, const housekeeper_options& opts,
              pipeline::completed_analysis done) {
  broker::outgoing_message event;
  event.subject = pipeline::analysis_event_subject(done.root_uid);
  // Counts and the task list are of routed tasks: an unrouted record only
  // says it was routed.
  value tasks = value::array();
  std::size_t finished = 0, crashed = 0;
  for (const auto* list : {&done.finished, &done.crashed}) {
    for (const auto& r : *list) {
      if (r.receiver.empty()) continue;
      (r.status == task_status::crashed ? crashed : finished)++;
      if (tasks.size() < max_event_tasks)
        tasks.push_back({{"uid", r.uid},
                         {"parent_uid", r.parent_uid},
                         {"receiver", r.receiver},
                         {"status", to_string(r.status)}});
    }
  }
  event.data = value{
      {"root_uid", done.root_uid},
      {"finished", finished},
      {"crashed", crashed},
      {"tasks", std::move(tasks)},
      {"completed_at",
       unix_now()}}.dump();
  std::uint64_t last = 0;
  for (const auto* list : {&done.finished, &done.crashed})
    for (const auto& r : *list)
      last = std::max(last, r.revision);
  // Several announcements of one root are possible (a retry reopens it),
  // each for a different last record; a repeated one is dropped.
  event.msg_id = "analysis." + done.root_uid + "." + std::to_string(last);
  auto id = event.msg_id;
  publish_event(st, deps, id, event);
  auto& pending = st.announcing[id];
  pending.event = std::move(event);
  auto& revisions = pending.finished_revisions;
  for (const auto& r : done.finished) {
    // The root's record goes first, so that a removal cut short never
    // leaves it alone: a Declared one left after its sole fork went would
    // keep the analysis open for a replaying leader.
    revisions.insert(r.uid == done.root_uid ? revisions.begin() : revisions.end(), r.revision);
    if (!r.receiver.empty()) pending.finished_receivers.push_back(r.receiver);
  }
  st.log->debug("[{}] analysis complete: {} finished, {} crashed", done.root_uid,
                done.finished.size(), done.crashed.size());
  for (const auto& r : done.crashed) {
    auto key = pipeline::task_key(done.root_uid, r.uid);
    st.crashed.emplace(r.last_update + opts.crashed_ttl.count() / 1000.0, key);
    st.crashed_records[key] = {r.revision, r.last_update, std::nullopt};
  }
}

void on_entry(housekeeper_state& st, const broker::kv_entry& entry) {
  auto dot = entry.key.find('.');
  if (dot == std::string::npos) return;
  auto root = std::string_view{entry.key}.substr(0, dot);
  auto uid = std::string_view{entry.key}.substr(dot + 1);
  st.log->trace("record {} rev {} {}", entry.key, entry.revision, to_string(entry.operation));
  if (entry.operation != broker::kv_operation::put) {
    st.tracker.remove(root, uid);
  } else if (auto t = decode_task(entry.value)) {
    st.tracker.put(root, {t->uid, t->status, entry.revision, t->last_update, t->receiver,
                          t->parent_uid, std::move(t->spawned), t->sole_fork});
  } else {
    st.log->warn("record {} is not a task: {}", entry.key, t.error().message);
  }
}

/// Whether `entry` is a crashed record of an announced analysis written
/// again unchanged (`move_crashed`): it must not reach the tracker, where
/// it would reopen the analysis. Any other change (a retry's delete
/// marker) ends the leader's hold on the record.
bool moved_by_leader(housekeeper_state& st, const broker::kv_entry& entry) {
  if (st.crashed_records.empty()) return false;
  auto i = st.crashed_records.find(entry.key);
  if (i == st.crashed_records.end()) return false;
  if (entry.operation == broker::kv_operation::put) {
    auto t = decode_task(entry.value);
    if (t && t->status == task_status::crashed && t->last_update == i->second.last_update) {
      i->second = {entry.revision, t->last_update, std::nullopt};
      return true;
    }
  }
  st.crashed_records.erase(i);
  return false;
}

void announce_completed(housekeeper_state& st, const housekeeper_deps& deps,
                        const housekeeper_options& opts) {
  for (auto& done : st.tracker.take_completed())
    announce(st, deps, opts, std::move(done));
}

/// The record a bucket message stands for: its key, operation and revision.
broker::kv_entry to_entry(const broker::message& m, std::uint64_t revision) {
  static const std::string prefix = "$KV." + std::string{pipeline::tasks_bucket} + ".";
  broker::kv_entry e;
  e.key = std::string{m.subject().substr(std::min(prefix.size(), m.subject().size()))};
  e.value = std::string{m.data()};
  e.revision = revision;
  auto op = m.header("KV-Operation");
  e.operation = !op              ? broker::kv_operation::put
                : *op == "PURGE" ? broker::kv_operation::purge
                                 : broker::kv_operation::erase;
  return e;
}

void stop_feed(housekeeper_state& st, const housekeeper_deps& deps) {
  if (!st.feed) return;
  (void)st.feed->stop(std::chrono::seconds{2});
  st.feed.reset();
  (void)broker::delete_consumer(*deps.conn, pipeline::tasks_stream, st.feed_consumer);
}

/// Starts reading the bucket from its current state: a consumer of our own
/// delivering the last value of every key, then every change, in order.
/// A replacement leader starts over the same way, so no state is inherited.
void become_leader(self_pointer self, const housekeeper_deps& deps) {
  auto& st = self->state;
  st.log->info("leading the housekeeping");
  st.tracker = {};
  st.reaper = {};
  st.floor_checked = st.keeper_moved = 0;
  st.root_rechecks.clear();
  st.feed_revision = 0;
  st.crashed.clear();
  st.crashed_records.clear();
  st.announcing.clear();
  st.keepers_written.reset();
  broker::consumer_spec spec;
  spec.stream = pipeline::tasks_stream;
  spec.durable = "housekeeper-" + new_uid();
  spec.filter_subject = "$KV." + std::string{pipeline::tasks_bucket} + ".>";
  // The bucket keeps one revision per key, so "all" is the current state:
  // the last value of every key, then each change.
  spec.deliver = broker::deliver_policy::all;
  // A new leader replays from scratch, so nothing needs redelivering.
  spec.acks = false;
  spec.inactive_threshold = std::chrono::minutes{1};
  spec.description = "switchyard housekeeper leader";
  if (auto r = broker::ensure_consumer(*deps.conn, spec); !r) {
    st.log->error("cannot read {}: {}", pipeline::tasks_bucket, r.error().message);
    return;
  }
  housekeeper_actor me = self;
  auto feed_credit = std::make_shared<credit>();
  broker::pull_options popts;
  popts.stream = pipeline::tasks_stream;
  popts.consumer = spec.durable;
  popts.window = 2048;
  popts.batch = 512;
  popts.start_paused = true;
  popts.on_message = [me, feed_credit](broker::message m) {
    auto meta = m.metadata();
    feed_credit->release(m);
    if (meta) caf::anon_send(me, to_entry(m, meta->stream_seq));
  };
  auto feed = broker::pull_consumer::start(deps.conn, std::move(popts));
  if (!feed) {
    st.log->error("cannot read {}: {}", pipeline::tasks_bucket, feed.error().message);
    return;
  }
  st.feed = std::move(*feed);
  st.feed_consumer = spec.durable;
  feed_credit->attach(st.feed.get());
  st.feed->resume();
}

void step_down(housekeeper_state& st, const housekeeper_deps& deps) {
  st.log->warn("lost the housekeeping lease; another node leads now");
  st.lease.reset();
  stop_feed(st, deps);
  st.tracker = {};
  st.reaper = {};
  st.root_rechecks.clear();
  st.feed_revision = 0;
  st.crashed.clear();
  st.crashed_records.clear();
  st.announcing.clear(); // their records stay for the next leader
  st.offline_since.clear();
  st.drains.clear();
}

/// Takes or refreshes the lease; returns true while leading.
bool hold_lease(self_pointer self, const housekeeper_deps& deps, const housekeeper_options& opts) {
  auto& st = self->state;
  if (st.lease) {
    auto r = deps.nodes->update(housekeeper_lease_key, opts.node, *st.lease);
    if (r) {
      st.lease = *r;
      return true;
    }
    if (r.error().code != errc::conflict) {
      st.log->warn("cannot refresh the housekeeping lease: {}", r.error().message);
      return true; // keep going; the lease expires by itself if we are cut off
    }
    step_down(st, deps);
    return false;
  }
  auto r = deps.nodes->create(housekeeper_lease_key, opts.node);
  if (!r) return false;
  st.lease = *r;
  become_leader(self, deps);
  return true;
}

/// The blocking lookups of one housekeeping pass: about a second's worth,
/// and none after the broker failed to answer, so that a leader with much
/// to look up (a replay) keeps refreshing its lease.
class lookup_budget {
public:
  bool open() const {
    return !failed_ && std::chrono::steady_clock::now() - started_ < std::chrono::seconds{1};
  }
  void failed() { failed_ = true; }

private:
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  bool failed_ = false;
};

/// Applies a record read by a lookup if this leader's feed passed it
/// already; one the feed has still to deliver is left to it (applied twice,
/// it would start a second round of its analysis).
bool apply_looked_up(housekeeper_state& st, const broker::kv_entry& entry) {
  if (entry.revision > st.feed_revision) return false;
  on_entry(st, entry);
  return true;
}

/// Looks up tasks that a record listed as spawned but whose own record has
/// not come for a while: read now if the bucket has it, forgotten if it has
/// none (removed by hand, or a removal of a finished tree cut short).
void settle_unseen(housekeeper_state& st, const housekeeper_deps& deps,
                   const housekeeper_options& opts, double cutoff, lookup_budget& budget) {
  bool changed = false;
  for (const auto& [root, uid] : st.tracker.unseen_before(cutoff)) {
    if (!budget.open()) break;
    auto current = deps.tasks->get_latest(pipeline::task_key(root, uid));
    if (current) {
      changed |= apply_looked_up(st, *current);
    } else if (current.error().code == errc::not_found) {
      st.log->debug("[{} {}] listed as spawned but has no record; forgotten", uid, root);
      st.tracker.remove(root, uid);
      changed = true;
    } else {
      budget.failed();
    }
  }
  if (changed) announce_completed(st, deps, opts);
}

/// How long an analysis whose root is still being routed waits before its
/// next lookup: a router's redelivery takes its ack_wait (30 s by default).
constexpr double root_recheck_seconds = 30;

/// What a lookup of an analysis's root found.
enum class root_lookup {
  /// Its record is there (read now if the feed passed it already).
  recorded,
  /// No record, and the analysis was announced before.
  announced,
  /// No record, and never announced.
  not_announced,
  /// The broker did not answer.
  failed,
};

root_lookup look_up_root(housekeeper_state& st, const housekeeper_deps& deps,
                         const std::string& root) {
  auto current = deps.tasks->get_latest(pipeline::task_key(root, root));
  if (current) {
    // A record that outlived an earlier round (a Crashed root, or a removal
    // that failed) is not delivered again: read it now.
    apply_looked_up(st, *current);
    return root_lookup::recorded;
  }
  if (current.error().code != errc::not_found) return root_lookup::failed;
  auto event = pipeline::last_analysis_event(*deps.conn, root);
  if (!event) return root_lookup::failed;
  return *event ? root_lookup::announced : root_lookup::not_announced;
}

/// Looks up the roots of analyses that have no live task but whose root was
/// not read as routed: a root published without a record, a round reopened
/// by a retry after the root's record was removed, a replay of crashed
/// records. The root's routing is complete if its record is there (read
/// now, or brought by the feed), or if it is gone and the analysis was
/// announced before (the housekeeper removes records only after
/// announcing). A missing record and no announcement means a router is
/// still routing it: looked up again after `root_recheck_seconds`.
/// Announcements expire from SY_EVENTS, so an analysis whose oldest record
/// is older than that is taken as routed too: no routing takes that long.
void settle_unconfirmed(housekeeper_state& st, const housekeeper_deps& deps,
                        const housekeeper_options& opts, double now, double cutoff,
                        lookup_budget& budget) {
  std::map<std::string, double> rechecks; // of the roots still unconfirmed
  bool changed = false;
  for (const auto& [root, oldest] : st.tracker.unconfirmed_before(cutoff)) {
    auto due = st.root_rechecks.find(root);
    if (!budget.open() || (due != st.root_rechecks.end() && due->second > now)) {
      if (due != st.root_rechecks.end()) rechecks.insert(*due);
      continue;
    }
    switch (look_up_root(st, deps, root)) {
    case root_lookup::recorded:
      changed = true;
      break;
    case root_lookup::failed:
      budget.failed(); // again next pass, rather than block this one
      break;
    case root_lookup::not_announced:
      if (oldest >= now - opts.events_max_age.count() / 1000.0) {
        st.log->debug("[{}] no live task, but its root is not routed yet; waiting", root);
        rechecks[root] = now + root_recheck_seconds;
        break;
      }
      [[fallthrough]];
    case root_lookup::announced:
      st.tracker.confirm_root(root);
      changed = true;
      break;
    }
  }
  st.root_rechecks = std::move(rechecks);
  if (changed) announce_completed(st, deps, opts);
}

/// Writes the keepers anew every `keeper_interval`, the first time at once
/// (docs/PIPELINE.md "Keepers").
void write_keepers(housekeeper_state& st, const housekeeper_deps& deps) {
  auto now = std::chrono::steady_clock::now();
  if (st.keepers_written && now - *st.keepers_written < pipeline::keeper_interval) return;
  st.keepers_written = now;
  if (auto r = pipeline::refresh_keepers(*deps.conn, *deps.tasks); !r)
    st.log->warn("keepers not written: {}", r.error().message);
}

void expire(self_pointer self, const housekeeper_deps& deps, const housekeeper_options& opts) {
  auto& st = self->state;
  auto now = unix_now();
  while (!st.crashed.empty() && st.crashed.begin()->first <= now) {
    const auto& key = st.crashed.begin()->second;
    api_call(st, deps, "$JS.API.STREAM.PURGE." + std::string{pipeline::crashed_stream},
             {{"filter", pipeline::crashed_uid_filter(key.substr(key.find('.') + 1))}});
    if (auto i = st.crashed_records.find(key); i != st.crashed_records.end()) {
      st.reaper.release(i->second.revision, now);
      st.crashed_records.erase(i);
    }
    st.crashed.erase(st.crashed.begin());
  }
  auto cutoff = now - opts.started_timeout.count() / 1000.0;
  for (auto& [root, r] : st.tracker.started_before(cutoff)) {
    auto key = pipeline::task_key(root, r.uid);
    auto current = deps.tasks->get(key);
    if (!current || current->revision != r.revision) continue;
    auto t = decode_task(current->value);
    if (!t) continue;
    t->status = task_status::crashed;
    t->error = "Started for longer than started_timeout; its worker is gone";
    t->last_update = now;
    st.log->warn("[{} {}] {}", t->uid, root, t->error);
    // Indexed first (docs/PIPELINE.md "The crashed index"), then
    // compare-and-set: a worker that finishes at the same moment wins.
    pipeline::index_crashed_async(
        *deps.conn, *t,
        [tasks = deps.tasks, key, revision = r.revision, t = *t](expected<void> ok) {
          if (ok) tasks->update_async(key, encode(t), revision, [](expected<std::uint64_t>) {});
        });
  }
  lookup_budget budget;
  settle_unseen(st, deps, opts, now - 2 * opts.interval.count() / 1000.0, budget);
  settle_unconfirmed(st, deps, opts, now, now - 1, budget);
}

/// Removes `identity`'s bind and queue consumer and starts taking its
/// queued tasks out.
void remove_bind(housekeeper_state& st, const housekeeper_deps& deps,
                 const housekeeper_options& opts, const std::string& identity) {
  auto ttl = std::chrono::duration_cast<std::chrono::seconds>(opts.bind_offline_ttl).count();
  st.log->info("removing non-persistent bind {}: no live replica for {}s (bind_offline_ttl); its "
               "queued tasks are recorded Crashed",
               identity, ttl);
  if (auto r = deps.binds->purge(identity); !r) {
    st.log->warn("cannot remove bind {}: {}", identity, r.error().message);
    return;
  }
  (void)pipeline::delete_queue_consumers(*deps.conn, identity);
  auto drain = pipeline::queue_drain::start(
      deps.conn, deps.tasks, identity,
      "non-persistent identity " + identity + " had no live replica for " + std::to_string(ttl) +
          "s (bind_offline_ttl); its bind and queue were removed");
  if (drain)
    st.drains.push_back(std::move(*drain));
  else
    st.log->warn("cannot empty the queue of {}: {}", identity, drain.error().message);
}

/// Finds non-persistent binds without a live replica and removes those
/// offline for `bind_offline_ttl`. A new leader starts their clocks afresh.
void retire_offline_binds(housekeeper_state& st, const housekeeper_deps& deps,
                          const housekeeper_options& opts) {
  for (auto i = st.drains.begin(); i != st.drains.end();) {
    if (!(*i)->finished()) {
      ++i;
      continue;
    }
    st.log->info("queue of {} emptied: {} task(s) recorded Crashed", (*i)->identity(),
                 (*i)->removed());
    i = st.drains.erase(i);
  }
  auto binds = deps.binds->entries();
  auto nodes = pipeline::read_live_nodes(*deps.nodes);
  if (!binds || !nodes) return;
  auto now = unix_now();
  std::map<std::string, double> offline;
  for (const auto& e : *binds) {
    auto json = value::parse(e.value, nullptr, false);
    if (!json.is_object() || json.value("persistent", true)) continue;
    if (!pipeline::serving_nodes(*nodes, e.key).empty()) continue;
    auto known = st.offline_since.find(e.key);
    auto since = known == st.offline_since.end() ? now : known->second;
    if (now - since >= opts.bind_offline_ttl.count() / 1000.0)
      remove_bind(st, deps, opts, e.key);
    else
      offline.emplace(e.key, since);
  }
  st.offline_since = std::move(offline);
}

/// Deletes the resources no task record refers to (docs/RESOURCES.md). The
/// objects are listed before the records are read: a listed object was
/// completely uploaded, and its task was recorded before its upload began,
/// so a live task's reference is always among the records read after.
void collect_resources(housekeeper_state& st, const housekeeper_deps& deps,
                       const housekeeper_options& opts) {
  auto now = std::chrono::steady_clock::now();
  if (now - st.resources_collected < opts.resource_gc_interval) return;
  st.resources_collected = now;
  if (!st.resources) {
    auto store = broker::object_store::open(deps.conn, pipeline::resources_bucket);
    if (!store) return st.log->warn("resources not collected: {}", store.error().message);
    st.resources.emplace(std::move(*store));
  }
  auto objects = st.resources->list();
  if (!objects) return st.log->warn("resources not collected: {}", objects.error().message);
  auto retention = std::chrono::duration<double>(opts.resource_retention).count();
  auto wall = unix_now();
  std::vector<std::string> candidates;
  for (const auto& o : *objects)
    if (wall - broker::mtime_seconds(o) >= retention) candidates.push_back(o.name);
  if (!candidates.empty()) {
    auto records = deps.tasks->entries(">");
    if (!records) return st.log->warn("resources not collected: {}", records.error().message);
    std::set<std::string> referenced;
    for (const auto& e : *records) {
      if (e.operation != broker::kv_operation::put) continue;
      auto t = decode_task(e.value);
      if (!t) continue;
      for (const auto& ref : find_resources(t->payload))
        if (ref.bucket == pipeline::resources_bucket) referenced.insert(ref.object);
    }
    for (const auto& name : candidates) {
      if (referenced.count(name)) continue;
      if (auto r = st.resources->remove(name); !r)
        st.log->warn("resource {} not deleted: {}", name, r.error().message);
      else
        st.log->info("resource {} deleted: no task refers to it", name);
    }
  }
  auto orphans = st.resources->orphan_chunk_subjects(
      std::chrono::duration_cast<std::chrono::seconds>(opts.resource_retention));
  if (!orphans) return;
  for (const auto& subject : *orphans)
    if (st.resources->purge_chunks(subject))
      st.log->info("purged chunks of an upload that never completed ({})", subject);
}

/// The leader sends what is due; the others wait for the lease.
void run_schedules(housekeeper_state& st, const housekeeper_deps& deps) {
  if (!st.lease || !deps.schedules) return;
  if (!st.producer) {
    auto p = pipeline::producer::open(deps.conn);
    if (!p) return st.log->warn("cannot send scheduled tasks: {}", p.error().message);
    st.producer.emplace(std::move(*p));
  }
  std::uniform_real_distribution<double> unit{0, 1};
  auto pass = pipeline::run_due_schedules(*deps.conn, *deps.schedules, *st.producer, unix_now(),
                                          [&] { return unit(st.rng); });
  for (const auto& id : pass.sent)
    st.log->info("[schedule {}] sent", id);
  for (const auto& id : pass.skipped)
    st.log->info("[schedule {}] skipped: the last run finished within the grace period", id);
  for (const auto& e : pass.errors)
    st.log->warn("{}", e);
}

/// Holds the writes of a record's or an announcement's handler while more
/// of them are queued.
auto batch_writes_of(self_pointer self) {
  return batch_writes<batched<broker::kv_entry>, batched<committed_atom>>(self);
}

housekeeper_actor::behavior_type
housekeeper(housekeeper_actor::stateful_pointer<housekeeper_state> self, housekeeper_deps deps,
            housekeeper_options opts) {
  auto& st = self->state;
  st.api_inbox = deps.conn->new_inbox();
  auto sub = deps.conn->subscribe(st.api_inbox, [log = st.log](broker::message reply) {
    auto json = value::parse(reply.data(), nullptr, false);
    if (json.is_object() && json.contains("error"))
      log->warn("stream API call failed: {}", json["error"].dump());
  });
  if (sub) st.api_replies.emplace(std::move(*sub));
  st.move_inbox = deps.conn->new_inbox();
  auto moves =
      deps.conn->subscribe(st.move_inbox, [conn = deps.conn, log = st.log](broker::message stored) {
        rewrite_stored(*conn, log, stored);
      });
  if (moves) st.move_replies.emplace(std::move(*moves));
  housekeeper_actor me = self;
  self->state.wake = [me] { caf::anon_send(me, committed_atom::value); };
  self->send(self, tick_atom::value);
  self->delayed_send(self, opts.schedule_interval, schedule_atom::value);
  return {
      [self, deps, opts](tick_atom) {
        if (hold_lease(self, deps, opts)) {
          write_keepers(self->state, deps);
          expire(self, deps, opts);
          reap(self->state, deps, opts);
          retire_offline_binds(self->state, deps, opts);
          collect_resources(self->state, deps, opts);
        }
        self->delayed_send(self, opts.interval, tick_atom::value);
      },
      [self, deps](committed_atom) {
        auto batch = batch_writes_of(self);
        settle_announcements(self->state, deps);
        auto& st = self->state;
        auto now = std::chrono::steady_clock::now();
        if (st.reaper.released() >= purge_batch && now - st.purge_checked >= purge_check_interval) {
          st.purge_checked = now;
          purge_released(st, deps, purge_batch);
        }
      },
      [self, deps, opts](schedule_atom) {
        settle_announcements(self->state, deps);
        run_schedules(self->state, deps);
        self->delayed_send(self, opts.schedule_interval, schedule_atom::value);
      },
      [self, deps, opts](const broker::kv_entry& entry) {
        auto batch = batch_writes_of(self); // also ends what the last handler held over
        if (!self->state.lease) return;
        self->state.feed_revision = std::max(self->state.feed_revision, entry.revision);
        if (!moved_by_leader(self->state, entry)) on_entry(self->state, entry);
        // A delete or purge marker (left by `retry`, a removal by hand, a
        // send that failed) has told the leader that its key is gone; it
        // may go too, so that markers do not pile up.
        self->state.reaper.delivered(entry.key, entry.revision,
                                     entry.operation != broker::kv_operation::put, unix_now());
        announce_completed(self->state, deps, opts);
      },
  };
}

} // namespace

void release_housekeeper_lease(broker::kv_bucket& nodes, const std::string& node) {
  auto lease = nodes.get(housekeeper_lease_key);
  if (lease && lease->value == node) (void)nodes.erase(housekeeper_lease_key);
}

housekeeper_actor spawn_housekeeper(caf::actor_system& sys, housekeeper_deps deps,
                                    housekeeper_options opts) {
  return sys.spawn<caf::detached>(housekeeper, std::move(deps), std::move(opts));
}

} // namespace sy::actors
