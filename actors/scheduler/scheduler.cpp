#include "actors/scheduler/scheduler.hpp"

#include "actors/core/mailbox_batch.hpp"
#include "actors/scheduler/commit.hpp"
#include "actors/worker/worker.hpp"
#include "runtime/log/log.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/scheduling/task_hash.hpp"
#include "runtime/task/codec.hpp"
#include "runtime/task/uid.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <cstdlib>
#include <deque>
#include <map>
#include <optional>
#include <unordered_map>

namespace sy::actors {

namespace {

/// A task that arrived with the hash of a waiting one and updated it: it
/// ends as a duplicate once the waiting task ran (until then its message
/// stays unacked, so a crash redelivers both and nothing is lost).
struct merged {
  delivery msg;
  task job;
};

/// A pulled task the scheduler holds, waiting for a worker.
struct held {
  delivery msg;
  task job;
  std::vector<merged> updates;
};

/// A task a worker is running, or an external worker holds under a lease.
struct flight {
  delivery msg;
  task job;
  /// None for a leased task.
  worker_actor worker;
  std::shared_ptr<std::atomic<bool>> cancelled;
  std::vector<merged> updates;
  std::string lease;
  double lease_until = 0;
  double started_at = 0;
  /// When its worker got it, for `task_timeout` (a steady clock: a step of
  /// the system clock must not end running tasks).
  std::chrono::steady_clock::time_point dispatched;
  /// Its Started record was written.
  bool started_recorded = false;
};

} // namespace

struct scheduler_state {
  /// What the actor was spawned with, among them the queue's order (the
  /// scheduler plugin) and its ranker. The handlers of its requests to
  /// workers read them here: a copy captured by each handler copied the
  /// bind, filters included, twice for every task.
  scheduler_deps deps;
  scheduler_options opts;
  /// What `order` holds, by ticket.
  std::unordered_map<std::uint64_t, held> waiting;
  std::uint64_t last_ticket = 0;
  /// Tasks `order` refused as full, in arrival order: unacked, offered again
  /// after the next pop. While any wait here the puller is paused.
  std::deque<held> overflow;
  /// When a task of each hash last finished (only for rankers that ask),
  /// kept current from bucket `sy_runs` by `runs_watch`.
  std::unordered_map<std::string, double> last_run;
  std::optional<broker::kv_watcher> runs_watch;
  /// Tasks of this identity an operator cancelled (bucket `sy_cancelled`),
  /// with when their entry expires there (Unix seconds; forgotten then):
  /// never started; a running one ends as cancelled whatever it returns.
  std::unordered_map<std::string, double> cancelled;
  std::optional<broker::kv_watcher> cancel_watch;
  std::map<std::string, flight> in_flight;
  std::vector<worker_actor> idle;
  /// A `started_atom` is on its way (see `record_started`).
  bool started_check_due = false;
  /// A `timeout_atom` is on its way (see `check_timeouts`).
  bool timeout_check_due = false;
  /// Commits started and not yet done.
  int committing = 0;
  /// Set by a graceful stop; answered once nothing is in flight.
  std::optional<caf::typed_response_promise<stopped_atom>> stop_promise;
  bool stopping = false;
  /// Another node registered a different bind for the identity.
  bool retired = false;
  std::shared_ptr<spdlog::logger> log;
};

namespace {

using self_pointer = scheduler_actor::stateful_pointer<scheduler_state>;

/// Holds a delivery's or a result's writes while more of them are queued.
auto batch_writes_of(self_pointer self) {
  return batch_writes<batched<delivered_atom, delivery>, batched<work_result>>(self);
}

commit_deps make_commit_deps(const scheduler_deps& deps, const scheduler_options& opts) {
  return {deps.conn, deps.tasks, &deps.metrics->of(opts.own_bind.identity)};
}

/// Makes `result` durable and tells the scheduler when that is done. The
/// task leaves the pull window now: the window bounds what waits for a
/// worker or runs, and a commit's round trips to the broker need none
/// (with a window held until the ack, it limited a no-op consumer with 4
/// workers to its 32 tasks per commit round trip).
void start_commit(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts,
                  delivery msg, outcome result) {
  deps.pull_credit->release(*msg);
  self->state.committing++;
  scheduler_actor me = self;
  commit(make_commit_deps(deps, opts), std::move(msg), std::move(result),
         [me] { caf::anon_send(me, committed_atom::value); });
}

void hand_back(const scheduler_deps& deps, const delivery& msg) {
  (void)msg->nak(hand_back_delay);
  deps.pull_credit->release(*msg);
}

void maybe_stopped(self_pointer self) {
  auto& st = self->state;
  if (st.stop_promise && st.in_flight.empty() && st.committing == 0) {
    st.stop_promise->deliver(stopped_atom::value);
    st.stop_promise.reset();
  }
}

/// Offers `h` to the queue's scheduler. False when it is full (`h` is
/// untouched then).
bool offer(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts, held& h);

/// Takes the next task to run, then lets tasks waiting for room in.
std::optional<held> pop_best(self_pointer self, const scheduler_deps& deps,
                             const scheduler_options& opts) {
  auto& st = self->state;
  auto ticket = st.deps.order->pop();
  if (!ticket) return std::nullopt;
  auto i = st.waiting.find(*ticket);
  if (i == st.waiting.end()) {
    st.log->error("[{}] scheduler returned ticket {}, which it does not hold",
                  opts.own_bind.identity, *ticket);
    return std::nullopt;
  }
  auto h = std::move(i->second);
  st.waiting.erase(i);
  while (!st.overflow.empty() && offer(self, deps, opts, st.overflow.front()))
    st.overflow.pop_front();
  if (st.overflow.empty() && !st.retired && !st.stopping) deps.pull_credit->resume();
  return h;
}

worker_actor spawn_worker(self_pointer self, const scheduler_deps& deps,
                          const scheduler_options& opts) {
  auto impl = deps.make_consumer();
  if (!impl) {
    // The factory was validated at start; failing now is a plugin bug.
    self->state.log->error("[{}] cannot create a consumer: {}", opts.own_bind.identity,
                           impl.error().message);
    return {};
  }
  scheduler_actor me = self;
  worker_options wopts{
      opts.own_bind.identity,
      [me](const std::string& uid) { caf::anon_send(me, heartbeat_atom::value, uid); },
      deps.read_resource};
  return self->system().spawn<caf::detached>(worker, std::shared_ptr<consumer>(std::move(*impl)),
                                             std::move(wopts));
}

void dispatch(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts);

/// Ends the tasks that updated task `ran` while it waited, as duplicates
/// of it, with its outcome.
void end_updates(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts,
                 std::vector<merged> updates, const std::string& ran, bool crashed,
                 const std::string& error) {
  for (auto& u : updates) {
    deps.metrics->of(opts.own_bind.identity).deduplicated++;
    auto why = crashed ? "updated task " + ran + ", which crashed: " + error : std::string{};
    start_commit(self, deps, opts, std::move(u.msg), outcome{std::move(u.job), crashed, why, {}});
  }
}

/// Notes that `t` finished now, here and in `sy_runs` for every node.
void record_run(scheduler_state& st, const scheduler_deps& deps, const scheduler_options& opts,
                const task& t) {
  auto hash = scheduling::task_hash(t);
  auto now = unix_now();
  st.last_run[hash] = now;
  if (deps.runs)
    deps.runs->put_async(pipeline::identity_token(opts.own_bind.identity) + "." + hash,
                         std::to_string(now), [](expected<std::uint64_t>) {});
}

/// Follows `sy_runs` for the identity, so that runs finished on other nodes
/// (and before this one started) count too.
void watch_runs(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts) {
  auto& st = self->state;
  if (!deps.runs || !st.deps.rank->uses_last_run()) return;
  auto prefix = pipeline::identity_token(opts.own_bind.identity) + ".";
  scheduler_actor me = self;
  auto watch = deps.runs->watch(prefix + ">", [me, prefix](const broker::kv_entry& e) {
    if (e.operation != broker::kv_operation::put) return;
    char* end = nullptr;
    double at = std::strtod(e.value.c_str(), &end);
    if (end == e.value.c_str()) return;
    caf::anon_send(me, last_run_atom::value, e.key.substr(prefix.size()), at);
  });
  if (!watch)
    st.log->warn("[{}] cannot follow the last runs in {}: {}; using this node's own",
                 opts.own_bind.identity, pipeline::runs_bucket, watch.error().message);
  else
    st.runs_watch.emplace(std::move(*watch));
}

/// Follows `sy_cancelled` for the identity (entries made before this node
/// started included).
void watch_cancels(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts) {
  if (!deps.cancelled) return;
  scheduler_actor me = self;
  auto watch = pipeline::follow_cancels(
      *deps.cancelled, opts.own_bind.identity, [me](std::string uid, double expires) {
        caf::anon_send(me, cancel_atom::value, std::move(uid), expires);
      });
  if (!watch)
    self->state.log->warn("[{}] cannot follow cancellations in {}: {}; a cancelled task that is "
                          "still queued will run",
                          opts.own_bind.identity, pipeline::cancelled_bucket,
                          watch.error().message);
  else
    self->state.cancel_watch.emplace(std::move(*watch));
}

using pipeline::cancelled_reason;

void on_result(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts,
               work_result r) {
  auto& st = self->state;
  auto i = st.in_flight.find(r.uid);
  if (i == st.in_flight.end()) return; // handed back by a hard stop
  auto f = std::move(i->second);
  st.in_flight.erase(i);
  if (f.worker) st.idle.push_back(f.worker);
  auto& m = deps.metrics->of(opts.own_bind.identity);
  m.in_flight--;
  m.processing.observe(r.seconds);
  if (st.cancelled.count(r.uid)) { // the cancellation wins over the outcome
    r.crashed = true;
    r.error = cancelled_reason;
    r.children.clear();
  }
  if (r.crashed)
    st.log->warn("[{} {} {}] crashed: {}", f.job.uid, f.job.root_uid, opts.own_bind.identity,
                 r.error);
  if (!r.crashed && st.deps.rank->uses_last_run()) record_run(st, deps, opts, f.job);
  auto ran = f.job.uid;
  start_commit(self, deps, opts, std::move(f.msg),
               outcome{std::move(f.job), r.crashed, r.error, r.children});
  end_updates(self, deps, opts, std::move(f.updates), ran, r.crashed, r.error);
  dispatch(self, deps, opts);
}

/// Ends the task `uid` as Crashed with `why` and replaces the worker that
/// runs it. A timed-out worker may never return: its thread, and the
/// handler of its request, stay until it does.
void replace_worker(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts,
                    const std::string& uid, const std::string& why) {
  auto& st = self->state;
  auto i = st.in_flight.find(uid);
  if (i == st.in_flight.end()) return;
  auto f = std::move(i->second);
  st.in_flight.erase(i);
  deps.metrics->of(opts.own_bind.identity).in_flight--;
  f.cancelled->store(true);
  st.log->warn("[{} {} {}] {}; replacing the worker", f.job.uid, f.job.root_uid,
               opts.own_bind.identity, why);
  // The old worker finishes in the background; its late result is dropped.
  caf::anon_send_exit(f.worker, caf::exit_reason::user_shutdown);
  if (auto w = spawn_worker(self, deps, opts)) st.idle.push_back(w);
  auto ran = f.job.uid;
  start_commit(self, deps, opts, std::move(f.msg), outcome{std::move(f.job), true, why, {}});
  end_updates(self, deps, opts, std::move(f.updates), ran, true, why);
  dispatch(self, deps, opts);
}

/// Has `timeout_atom` sent in `wait` (at most an hour: a longer wait is
/// split, as a `task_timeout` of centuries would overflow the clock),
/// unless one is on its way already. One timer for all tasks: a request
/// timeout per task woke CAF's clock thread twice for each. Every task of
/// the actor has the same timeout, so one dispatched later is never due
/// before the one the timer waits for.
void arm_timeout_check(self_pointer self, std::chrono::milliseconds wait) {
  if (self->state.timeout_check_due) return;
  self->state.timeout_check_due = true;
  self->delayed_send(self, std::min<std::chrono::milliseconds>(wait, std::chrono::hours{1}),
                     timeout_atom::value);
}

/// Ends the tasks that have run `task_timeout` as Crashed; checks again
/// when the next one is due.
void check_timeouts(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts) {
  using std::chrono::milliseconds;
  auto& st = self->state;
  st.timeout_check_due = false;
  auto now = std::chrono::steady_clock::now();
  std::vector<std::string> expired;
  std::optional<milliseconds> next;
  for (const auto& [uid, f] : st.in_flight) {
    if (!f.worker) continue; // leased: its lease ends it
    auto ran = std::chrono::duration_cast<milliseconds>(now - f.dispatched);
    if (ran >= opts.task_timeout)
      expired.push_back(uid);
    else
      next = std::min(next.value_or(milliseconds::max()), opts.task_timeout - ran);
  }
  if (next) arm_timeout_check(self, *next + milliseconds{1});
  auto why = "timed out after " + std::to_string(opts.task_timeout.count()) + " ms";
  for (const auto& uid : expired)
    replace_worker(self, deps, opts, uid, why);
}

/// Counts the task `h` holds in flight and marks it Started. Its record is
/// written now when `record_now`, else by `record_started` once it has run
/// `record_started_after`: most tasks end sooner and skip that write.
/// Returns whether the record was written.
bool start_task(const scheduler_deps& deps, const scheduler_options& opts, held& h,
                bool record_now) {
  auto& t = h.job;
  auto meta = h.msg->metadata();
  t.attempt = meta ? static_cast<std::uint32_t>(meta->num_delivered) : 1;
  auto& m = deps.metrics->of(opts.own_bind.identity);
  m.assigned++;
  m.in_flight++;
  m.queue_wait.observe(unix_now() - t.last_update);
  t.status = task_status::started;
  t.last_update = unix_now();
  if (!record_now) return false;
  deps.tasks->put_async(pipeline::task_key(t), encode(t), [](expected<std::uint64_t>) {});
  return true;
}

/// Writes the Started records of the tasks that have run
/// `record_started_after` by now; checks again when the next one is due.
/// Written from this actor before the task's result is handled, so before
/// any terminal record of it (same connection, same order in the stream).
void record_started(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts) {
  auto& st = self->state;
  st.started_check_due = false;
  auto after = std::chrono::duration<double>(opts.record_started_after).count();
  auto now = unix_now();
  double next_due = 0;
  for (auto& [_, f] : st.in_flight) {
    if (f.started_recorded) continue;
    auto due = f.started_at + after;
    if (due > now) {
      next_due = next_due == 0 ? due : std::min(next_due, due);
      continue;
    }
    f.started_recorded = true;
    // A cancelled task's record already says so; it must not read Started.
    if (st.cancelled.count(f.job.uid)) continue;
    deps.tasks->put_async(pipeline::task_key(f.job), encode(f.job), [](expected<std::uint64_t>) {});
  }
  if (next_due == 0 || st.stopping) return;
  st.started_check_due = true;
  auto wait = std::chrono::duration<double>(next_due - now + 0.001);
  self->delayed_send(self, std::chrono::duration_cast<std::chrono::milliseconds>(wait),
                     started_atom::value);
}

/// Ends `h` as cancelled, without running it, if an operator cancelled it.
bool drop_cancelled(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts,
                    held& h) {
  if (!self->state.cancelled.count(h.job.uid)) return false;
  self->state.log->info("[{} {} {}] cancelled while queued: not run", h.job.uid, h.job.root_uid,
                        opts.own_bind.identity);
  auto uid = h.job.uid;
  start_commit(self, deps, opts, std::move(h.msg),
               outcome{std::move(h.job), true, cancelled_reason, {}});
  end_updates(self, deps, opts, std::move(h.updates), uid, true, cancelled_reason);
  return true;
}

/// Whether task `uid` is in flight on worker `w`: a worker replaced after
/// a timeout may still answer for it.
bool runs_on(const scheduler_state& st, const std::string& uid, const worker_actor& w) {
  auto i = st.in_flight.find(uid);
  return i != st.in_flight.end() && i->second.worker == w;
}

void dispatch(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts) {
  auto& st = self->state;
  while (!st.stopping && !st.idle.empty()) {
    auto next = pop_best(self, deps, opts);
    if (!next) return;
    if (drop_cancelled(self, deps, opts, *next)) continue;
    auto w = st.idle.back();
    st.idle.pop_back();
    auto recorded = start_task(deps, opts, *next, opts.record_started_after.count() == 0);
    const auto& t = next->job;
    work_order order{t};
    st.in_flight.emplace(t.uid, flight{std::move(next->msg),
                                       t,
                                       w,
                                       order.cancelled,
                                       std::move(next->updates),
                                       {},
                                       0,
                                       unix_now(),
                                       std::chrono::steady_clock::now(),
                                       recorded});
    if (!recorded && !st.started_check_due) {
      st.started_check_due = true;
      self->delayed_send(self, opts.record_started_after, started_atom::value);
    }
    arm_timeout_check(self, opts.task_timeout);
    auto uid = t.uid;
    self->request(w, caf::infinite, run_atom::value, std::move(order))
        .then(
            [self, w](const work_result& r) {
              auto& st = self->state;
              if (!runs_on(st, r.uid, w)) return;
              auto batch = batch_writes_of(self);
              on_result(self, st.deps, st.opts, r);
            },
            [self, uid, w](const caf::error& e) {
              auto& st = self->state;
              if (!runs_on(st, uid, w)) return;
              replace_worker(self, st.deps, st.opts, uid,
                             "worker failed: " + self->system().render(e));
            });
  }
}

/// Records a task that cannot run as Crashed without running it.
void crash_unrun(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts,
                 delivery msg, task t, std::string why) {
  self->state.log->warn("[{} {} {}] {}", t.uid, t.root_uid, opts.own_bind.identity, why);
  start_commit(self, deps, opts, std::move(msg), outcome{std::move(t), true, std::move(why), {}});
}

bool offer(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts, held& h) {
  auto& st = self->state;
  auto& t = h.job;
  rank_context ctx;
  ctx.queued_at = t.last_update;
  auto meta = h.msg->metadata();
  ctx.attempt = meta ? static_cast<std::uint32_t>(meta->num_delivered) : 1;
  if (st.deps.rank->uses_last_run()) {
    auto last = st.last_run.find(scheduling::task_hash(t));
    if (last != st.last_run.end()) ctx.since_last_run = unix_now() - last->second;
  }
  t.score = st.deps.rank->score(t, ctx);
  auto ticket = ++st.last_ticket;
  auto pushed = st.deps.order->push(ticket, t, t.score);
  auto& m = deps.metrics->of(opts.own_bind.identity);
  switch (pushed.what) {
  case admission::queued:
    st.waiting.emplace(ticket, std::move(h));
    return true;
  case admission::full:
    return false;
  case admission::updated: {
    auto w = st.waiting.find(pushed.waiting);
    if (w == st.waiting.end()) break;
    auto& kept = w->second.job;
    st.log->info("[{} {} {}] updates waiting task {} (same hash), which runs with its content; "
                 "this one ends as its duplicate",
                 t.uid, t.root_uid, opts.own_bind.identity, kept.uid);
    kept.headers = t.headers;
    kept.payload = t.payload;
    kept.priority = t.priority;
    kept.score = t.score;
    w->second.updates.push_back(merged{std::move(h.msg), std::move(t)});
    return true;
  }
  case admission::duplicate: {
    auto w = st.waiting.find(pushed.waiting);
    if (w == st.waiting.end()) break;
    m.deduplicated++;
    st.log->info("[{} {} {}] duplicate of waiting task {} (same hash): finished without running",
                 t.uid, t.root_uid, opts.own_bind.identity, w->second.job.uid);
    start_commit(self, deps, opts, std::move(h.msg), outcome{std::move(t), false, {}, {}});
    return true;
  }
  }
  // A plugin bug: it named a ticket it does not hold. Run the task anyway.
  st.log->error("[{} {} {}] scheduler answered {} with unknown ticket {}; queueing the task "
                "behind its back",
                t.uid, t.root_uid, opts.own_bind.identity,
                pushed.what == admission::updated ? "updated" : "duplicate", pushed.waiting);
  auto again = ++st.last_ticket;
  st.deps.order->push(again, t, t.score);
  st.waiting.emplace(again, std::move(h));
  return true;
}

void enqueue(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts,
             delivery msg, task t) {
  auto& st = self->state;
  if (st.stopping || st.retired) return hand_back(deps, msg);
  held h{std::move(msg), std::move(t), {}};
  if (!st.overflow.empty() || !offer(self, deps, opts, h)) {
    // Back-pressure: keep it (unacked) and take nothing more from the stream
    // until the scheduler has room.
    if (st.overflow.empty())
      st.log->debug("[{}] scheduler full ({} waiting): pausing the queue's puller",
                    opts.own_bind.identity, st.deps.order->size());
    st.overflow.push_back(std::move(h));
    deps.pull_credit->pause();
    return;
  }
  dispatch(self, deps, opts);
}

/// A redelivered task may already have ended, with only its ack lost: then
/// its record is terminal, or gone (the housekeeper removes Finished ones
/// once the analysis completed). A missing record proves that only when
/// `missing_means_ended`. Any doubt runs it again (at-least-once).
void skip_if_ended(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts,
                   delivery msg, task t, bool missing_means_ended) {
  auto key = pipeline::task_key(t);
  self->request(deps.lookup, std::chrono::seconds{10}, get_atom::value, key)
      .then(
          [self, deps, opts, msg, t, missing_means_ended](const lookup_result& r) mutable {
            if (!r.error.empty()) return enqueue(self, deps, opts, std::move(msg), std::move(t));
            auto record = found_task(r);
            bool ended = record ? is_terminal(record->status) : r.value || missing_means_ended;
            if (ended) {
              self->state.log->debug("[{} {} {}] already ended; acking the redelivery", t.uid,
                                     t.root_uid, opts.own_bind.identity);
              deps.metrics->of(opts.own_bind.identity).duplicates++;
              (void)msg->ack();
              return deps.pull_credit->release(*msg);
            }
            if (!r.value)
              self->state.log->debug("[{} {} {}] no record, and its parent is not known to be "
                                     "routed; running it again",
                                     t.uid, t.root_uid, opts.own_bind.identity);
            enqueue(self, deps, opts, std::move(msg), std::move(t));
          },
          [self, deps, opts, msg, t](const caf::error&) mutable {
            enqueue(self, deps, opts, std::move(msg), std::move(t));
          });
}

/// A fork whose parent, a root, has no record: the root was published
/// without one (any NATS client may) and is still being routed, or it was
/// routed and its analysis completed and removed. Only the analysis's
/// announcement tells the second apart.
void check_root_announced(self_pointer self, const scheduler_deps& deps,
                          const scheduler_options& opts, delivery msg, task t) {
  self->request(deps.lookup, std::chrono::seconds{10}, announced_atom::value, t.root_uid)
      .then(
          [self, deps, opts, msg, t](const lookup_result& r) mutable {
            bool routed = r.error.empty() && r.value;
            skip_if_ended(self, deps, opts, std::move(msg), std::move(t), routed);
          },
          [self, deps, opts, msg, t](const caf::error&) mutable {
            skip_if_ended(self, deps, opts, std::move(msg), std::move(t), false);
          });
}

/// Reads the record of the task a redelivered one was made from (the
/// unrouted task of a fork, the crashed task of a retry) before its own. A
/// router creates a fork's record and queues its message in parallel, so
/// during a broker failover the message can be stored while the record is
/// not. A missing record proves the fork ended only once its parent is
/// routed: the router marks a parent routed after every fork record was
/// confirmed.
void check_redelivered(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts,
                       delivery msg, task t) {
  if (t.orig_uid.empty() || !pipeline::is_key_token(t.orig_uid))
    return skip_if_ended(self, deps, opts, std::move(msg), std::move(t), true);
  auto parent_key = pipeline::task_key(t.root_uid, t.orig_uid);
  self->request(deps.lookup, std::chrono::seconds{10}, get_atom::value, parent_key)
      .then(
          [self, deps, opts, msg, t](const lookup_result& r) mutable {
            if (r.error.empty() && !r.value && t.orig_uid == t.root_uid)
              return check_root_announced(self, deps, opts, std::move(msg), std::move(t));
            auto parent = found_task(r);
            // Unreadable: as if unrouted, so that only a terminal record skips it.
            bool routed = r.error.empty() && !(parent && parent->status == task_status::declared);
            skip_if_ended(self, deps, opts, std::move(msg), std::move(t), routed);
          },
          [self, deps, opts, msg, t](const caf::error&) mutable {
            skip_if_ended(self, deps, opts, std::move(msg), std::move(t), false);
          });
}

void on_delivered(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts,
                  delivery msg) {
  auto& st = self->state;
  auto decoded = decode_task(msg->data());
  if (!decoded) {
    // Not a task: nothing can ever run it. Terminate it so it leaves the
    // stream's delivery cycle, and say so.
    st.log->error("[{}] terminating undecodable message on {}: {}", opts.own_bind.identity,
                  msg->subject(), decoded.error().message);
    (void)msg->term();
    return deps.pull_credit->release(*msg);
  }
  if (st.in_flight.count(decoded->uid)) {
    // Its message again, while it runs here (its ack wait ran out, e.g.
    // while the broker failed over): the running one acks it.
    st.log->debug("[{} {} {}] delivered again while it runs; left to the running one", decoded->uid,
                  decoded->root_uid, opts.own_bind.identity);
    return deps.pull_credit->release(*msg);
  }
  auto meta = msg->metadata();
  auto delivered = meta ? meta->num_delivered : 1;
  if (delivered > static_cast<std::uint64_t>(opts.max_deliver))
    return crash_unrun(self, deps, opts, std::move(msg), std::move(*decoded),
                       "delivered " + std::to_string(delivered) + " times without finishing");
  if (delivered <= 1) return enqueue(self, deps, opts, std::move(msg), std::move(*decoded));
  st.log->debug("[{} {} {}] delivery {}: checking its records", decoded->uid, decoded->root_uid,
                opts.own_bind.identity, delivered);
  check_redelivered(self, deps, opts, std::move(msg), std::move(*decoded));
}

/// How often a running task's Started record gets a fresh `last_update`,
/// so the housekeeper's `started_timeout` only catches tasks whose worker
/// is gone, never long ones still running.
constexpr double started_refresh_seconds = 60;

void heartbeat_held(const held& h) {
  (void)h.msg->in_progress();
  for (const auto& u : h.updates)
    (void)u.msg->in_progress();
}

void heartbeat_all(scheduler_state& st, const scheduler_deps& deps) {
  for (const auto& [_, h] : st.waiting)
    heartbeat_held(h);
  for (const auto& h : st.overflow)
    heartbeat_held(h);
  auto now = unix_now();
  for (auto& [_, f] : st.in_flight) {
    (void)f.msg->in_progress();
    for (const auto& u : f.updates)
      (void)u.msg->in_progress();
    if (now - f.job.last_update < started_refresh_seconds || st.cancelled.count(f.job.uid))
      continue;
    // Written from this actor before any terminal record of the task, so
    // the stream keeps them in that order.
    f.job.last_update = now;
    f.started_recorded = true;
    deps.tasks->put_async(pipeline::task_key(f.job), encode(f.job), [](expected<std::uint64_t>) {});
  }
}

/// The bucket dropped these entries; a task still queued then runs.
void forget_expired_cancels(scheduler_state& st) {
  auto now = unix_now();
  for (auto i = st.cancelled.begin(); i != st.cancelled.end();)
    i = i->second < now ? st.cancelled.erase(i) : std::next(i);
}

void hand_back_held(const scheduler_deps& deps, const held& h) {
  hand_back(deps, h.msg);
  for (const auto& u : h.updates)
    hand_back(deps, u.msg);
}

void hand_back_queue(scheduler_state& st, const scheduler_deps& deps) {
  for (auto ticket : st.deps.order->clear()) {
    auto i = st.waiting.find(ticket);
    if (i == st.waiting.end()) continue;
    hand_back_held(deps, i->second);
    st.waiting.erase(i);
  }
  // Whatever the plugin forgot to return.
  for (const auto& [_, h] : st.waiting)
    hand_back_held(deps, h);
  st.waiting.clear();
  for (const auto& h : st.overflow)
    hand_back_held(deps, h);
  st.overflow.clear();
}

// --- leases (external identities) ------------------------------------------

double lease_seconds(const scheduler_options& opts) {
  return std::chrono::duration<double>(opts.lease).count();
}

lease_batch lease_tasks(self_pointer self, const scheduler_deps& deps,
                        const scheduler_options& opts, int limit) {
  auto& st = self->state;
  lease_batch out;
  if (!opts.external || st.stopping || st.retired) return out;
  while (static_cast<int>(out.tasks.size()) < limit &&
         static_cast<int>(st.in_flight.size()) < opts.concurrency) {
    auto next = pop_best(self, deps, opts);
    if (!next) break;
    if (drop_cancelled(self, deps, opts, *next)) continue;
    start_task(deps, opts, *next, true);
    leased_task leased{next->job, new_uid(), unix_now() + lease_seconds(opts)};
    st.in_flight.emplace(leased.job.uid, flight{std::move(next->msg),
                                                leased.job,
                                                {},
                                                nullptr,
                                                std::move(next->updates),
                                                leased.lease,
                                                leased.expires_at,
                                                unix_now(),
                                                std::chrono::steady_clock::now(),
                                                true});
    self->delayed_send(self, opts.lease, lease_atom::value, leased.job.uid, leased.lease);
    out.tasks.push_back(std::move(leased));
  }
  return out;
}

report_reply report_lease(self_pointer self, const scheduler_deps& deps,
                          const scheduler_options& opts, lease_report& r) {
  auto& st = self->state;
  auto i = st.in_flight.find(r.uid);
  if (i == st.in_flight.end() || i->second.worker || i->second.lease != r.lease)
    return {report_reply::unknown, 0};
  auto& f = i->second;
  if (r.status == task_status::started) {
    f.lease_until = unix_now() + lease_seconds(opts);
    (void)f.msg->in_progress();
    self->delayed_send(self, opts.lease, lease_atom::value, r.uid, r.lease);
    return {report_reply::ok, f.lease_until};
  }
  work_result result;
  result.uid = r.uid;
  result.crashed = r.status == task_status::crashed;
  result.error =
      result.crashed && r.error.empty() ? "crashed (reported by an external worker)" : r.error;
  result.seconds = unix_now() - f.started_at;
  if (!result.crashed)
    for (const auto& c : r.children)
      result.children.push_back(derive_child(f.job, c.value("headers", value::object()),
                                             c.value("payload", value::object()),
                                             c.value("headers_persistent", value::object()),
                                             c.value("payload_persistent", value::object())));
  on_result(self, deps, opts, result);
  return {report_reply::ok, 0};
}

/// Hands a task whose lease ran out back to the queue.
void expire_lease(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts,
                  const std::string& uid, const std::string& lease) {
  auto& st = self->state;
  auto i = st.in_flight.find(uid);
  if (i == st.in_flight.end() || i->second.lease != lease) return;
  if (i->second.lease_until > unix_now()) return; // extended since
  auto f = std::move(i->second);
  st.in_flight.erase(i);
  deps.metrics->of(opts.own_bind.identity).in_flight--;
  st.log->warn("[{} {} {}] lease expired after {} s without a report; the task goes back to the "
               "queue",
               uid, f.job.root_uid, opts.own_bind.identity, lease_seconds(opts));
  hand_back(deps, f.msg);
  for (const auto& u : f.updates)
    hand_back(deps, u.msg);
  maybe_stopped(self);
}

scheduler_actor::behavior_type scheduler(scheduler_actor::stateful_pointer<scheduler_state> self,
                                         scheduler_deps deps, scheduler_options opts) {
  self->state.log = log::get("scheduler." + opts.own_bind.identity);
  self->state.deps = deps;
  self->state.opts = opts;
  watch_runs(self, deps, opts);
  watch_cancels(self, deps, opts);
  for (int i = 0; !opts.external && i < opts.concurrency; ++i)
    if (auto w = spawn_worker(self, deps, opts)) self->state.idle.push_back(w);
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    for (auto& w : self->state.idle)
      caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
    for (auto& [_, f] : self->state.in_flight)
      if (f.worker) caf::anon_send_exit(f.worker, caf::exit_reason::user_shutdown);
    self->quit(msg.reason);
  });
  self->delayed_send(self, opts.heartbeat, tick_atom::value);
  return {
      [self, deps, opts](delivered_atom, delivery msg) {
        auto batch = batch_writes_of(self);
        on_delivered(self, deps, opts, std::move(msg));
      },
      [self, deps, opts](started_atom) { record_started(self, deps, opts); },
      [self, deps, opts](timeout_atom) { check_timeouts(self, deps, opts); },
      [self, deps, opts](tick_atom) {
        heartbeat_all(self->state, deps);
        forget_expired_cancels(self->state);
        if (!self->state.stopping) self->delayed_send(self, opts.heartbeat, tick_atom::value);
      },
      [self](last_run_atom, const std::string& hash, double at) {
        auto& last = self->state.last_run[hash];
        last = std::max(last, at);
      },
      [self, deps, opts](pop_atom, int limit) { return lease_tasks(self, deps, opts, limit); },
      [self, deps, opts](report_atom, lease_report& r) {
        return report_lease(self, deps, opts, r);
      },
      [self, deps, opts](lease_atom, const std::string& uid, const std::string& lease) {
        expire_lease(self, deps, opts, uid, lease);
      },
      [self](cancel_atom, const std::string& uid, double expires) {
        auto& st = self->state;
        st.cancelled[uid] = expires;
        // A running task learns it through its cancelled flag (consumers
        // that look at it stop early); its outcome is replaced anyway.
        auto i = st.in_flight.find(uid);
        if (i != st.in_flight.end() && i->second.cancelled) i->second.cancelled->store(true);
      },
      [self](committed_atom) {
        self->state.committing--;
        maybe_stopped(self);
      },
      [self](heartbeat_atom, const std::string& uid) {
        auto i = self->state.in_flight.find(uid);
        if (i != self->state.in_flight.end()) (void)i->second.msg->in_progress();
      },
      [self, deps, opts](binds_atom, const bind_update& update) {
        auto& st = self->state;
        if (st.retired || update.identity != opts.own_bind.identity || !update.bind) return;
        const auto& theirs = update.bind->spec;
        if (pipeline::same_service(theirs, opts.own_bind) ||
            theirs.registered_at <= opts.own_bind.registered_at)
          return;
        st.retired = true;
        st.log->warn("[{}] bind replaced by node {} (service version \"{}\"); this replica "
                     "stops taking tasks and finishes what it holds",
                     opts.own_bind.identity, theirs.node, theirs.service_version);
        deps.pull_credit->pause();
        hand_back_queue(st, deps);
      },
      [self, deps](stop_atom, bool hard) -> caf::result<stopped_atom> {
        auto& st = self->state;
        st.stopping = true;
        hand_back_queue(st, deps);
        if (hard) {
          for (auto& [_, f] : st.in_flight) {
            if (f.cancelled) f.cancelled->store(true);
            hand_back(deps, f.msg);
            for (const auto& u : f.updates)
              hand_back(deps, u.msg);
          }
          st.in_flight.clear();
          // A graceful stop still waiting is over too.
          if (st.stop_promise) st.stop_promise->deliver(stopped_atom::value);
          st.stop_promise.reset();
          return stopped_atom::value;
        }
        if (st.in_flight.empty() && st.committing == 0) return stopped_atom::value;
        st.stop_promise = self->make_response_promise<stopped_atom>();
        return *st.stop_promise;
      },
  };
}

} // namespace

scheduler_actor spawn_scheduler(caf::actor_system& sys, scheduler_deps deps,
                                scheduler_options opts) {
  return sys.spawn(scheduler, std::move(deps), std::move(opts));
}

} // namespace sy::actors
