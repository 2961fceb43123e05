#include "actors/scheduler/scheduler.hpp"

#include "actors/scheduler/commit.hpp"
#include "actors/worker/worker.hpp"
#include "runtime/log/log.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/task/codec.hpp"

#include <array>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <deque>
#include <map>
#include <optional>

namespace sy::actors {

namespace {

using clock = std::chrono::steady_clock;

/// A pulled task waiting for a worker.
struct held {
  delivery msg;
  task job;
};

/// A task a worker is running.
struct flight {
  delivery msg;
  task job;
  worker_actor worker;
  std::shared_ptr<std::atomic<bool>> cancelled;
};

} // namespace

struct scheduler_state {
  /// Waiting tasks by priority class (index = priority), FIFO inside.
  std::array<std::deque<held>, 3> queue;
  std::map<std::string, flight> in_flight;
  std::vector<worker_actor> idle;
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

commit_deps make_commit_deps(const scheduler_deps& deps, const scheduler_options& opts) {
  return {deps.conn, deps.tasks, deps.pull_credit, &deps.metrics->of(opts.own_bind.identity)};
}

/// Makes `result` durable and tells the scheduler when that is done.
void start_commit(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts,
                  delivery msg, outcome result) {
  self->state.committing++;
  scheduler_actor me = self;
  commit(make_commit_deps(deps, opts), std::move(msg), std::move(result),
         [me] { caf::anon_send(me, committed_atom::value); });
}

void hand_back(const scheduler_deps& deps, const delivery& msg) {
  (void)msg->nak(hand_back_delay);
  deps.pull_credit->release();
}

void maybe_stopped(self_pointer self) {
  auto& st = self->state;
  if (st.stop_promise && st.in_flight.empty() && st.committing == 0) {
    st.stop_promise->deliver(stopped_atom::value);
    st.stop_promise.reset();
  }
}

std::optional<held> pop_best(scheduler_state& st) {
  for (int p = 2; p >= 0; --p) {
    if (!st.queue[p].empty()) {
      auto h = std::move(st.queue[p].front());
      st.queue[p].pop_front();
      return h;
    }
  }
  return std::nullopt;
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
  worker_options wopts{opts.own_bind.identity, [me](const std::string& uid) {
                         caf::anon_send(me, heartbeat_atom::value, uid);
                       }};
  return self->system().spawn<caf::detached>(worker, std::shared_ptr<consumer>(std::move(*impl)),
                                             std::move(wopts));
}

void dispatch(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts);

void on_result(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts,
               const work_result& r) {
  auto& st = self->state;
  auto i = st.in_flight.find(r.uid);
  if (i == st.in_flight.end()) return; // handed back by a hard stop
  auto f = std::move(i->second);
  st.in_flight.erase(i);
  st.idle.push_back(f.worker);
  auto& m = deps.metrics->of(opts.own_bind.identity);
  m.in_flight--;
  m.processing.observe(r.seconds);
  if (r.crashed)
    st.log->warn("[{} {} {}] crashed: {}", f.job.uid, f.job.root_uid, opts.own_bind.identity,
                 r.error);
  start_commit(self, deps, opts, std::move(f.msg),
               outcome{std::move(f.job), r.crashed, r.error, r.children});
  dispatch(self, deps, opts);
}

void on_failure(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts,
                const std::string& uid, const caf::error& e) {
  auto& st = self->state;
  auto i = st.in_flight.find(uid);
  if (i == st.in_flight.end()) return;
  auto f = std::move(i->second);
  st.in_flight.erase(i);
  deps.metrics->of(opts.own_bind.identity).in_flight--;
  f.cancelled->store(true);
  std::string why = e == caf::sec::request_timeout
                        ? "timed out after " + std::to_string(opts.task_timeout.count()) + " ms"
                        : "worker failed: " + self->system().render(e);
  st.log->warn("[{} {} {}] {}; replacing the worker", f.job.uid, f.job.root_uid,
               opts.own_bind.identity, why);
  // The old worker finishes in the background; its late result is dropped.
  caf::anon_send_exit(f.worker, caf::exit_reason::user_shutdown);
  if (auto w = spawn_worker(self, deps, opts)) st.idle.push_back(w);
  start_commit(self, deps, opts, std::move(f.msg), outcome{std::move(f.job), true, why, {}});
  dispatch(self, deps, opts);
}

void dispatch(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts) {
  auto& st = self->state;
  while (!st.stopping && !st.idle.empty()) {
    auto next = pop_best(st);
    if (!next) return;
    auto w = st.idle.back();
    st.idle.pop_back();
    auto& t = next->job;
    auto meta = next->msg->metadata();
    t.attempt = meta ? static_cast<std::uint32_t>(meta->num_delivered) : 1;
    auto& m = deps.metrics->of(opts.own_bind.identity);
    m.assigned++;
    m.in_flight++;
    m.queue_wait.observe(unix_now() - t.last_update);
    t.status = task_status::started;
    t.last_update = unix_now();
    deps.tasks->put_async(pipeline::task_key(t), encode(t), [](expected<std::uint64_t>) {});
    work_order order{t};
    st.in_flight.emplace(t.uid, flight{std::move(next->msg), t, w, order.cancelled});
    auto uid = t.uid;
    self->request(w, opts.task_timeout, run_atom::value, std::move(order))
        .then(
            [self, deps, opts](const work_result& r) { on_result(self, deps, opts, r); },
            [self, deps, opts, uid](const caf::error& e) { on_failure(self, deps, opts, uid, e); });
  }
}

/// Records a task that cannot run as Crashed without running it.
void crash_unrun(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts,
                 delivery msg, task t, std::string why) {
  self->state.log->warn("[{} {} {}] {}", t.uid, t.root_uid, opts.own_bind.identity, why);
  start_commit(self, deps, opts, std::move(msg), outcome{std::move(t), true, std::move(why), {}});
}

void enqueue(self_pointer self, const scheduler_deps& deps, const scheduler_options& opts,
             delivery msg, task t) {
  auto& st = self->state;
  if (st.stopping || st.retired) return hand_back(deps, msg);
  auto p = static_cast<int>(t.priority);
  st.queue[p].push_back(held{std::move(msg), std::move(t)});
  dispatch(self, deps, opts);
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
    return deps.pull_credit->release();
  }
  auto meta = msg->metadata();
  auto delivered = meta ? meta->num_delivered : 1;
  if (delivered > static_cast<std::uint64_t>(opts.max_deliver))
    return crash_unrun(self, deps, opts, std::move(msg), std::move(*decoded),
                       "delivered " + std::to_string(delivered) + " times without finishing");
  if (delivered <= 1) return enqueue(self, deps, opts, std::move(msg), std::move(*decoded));
  // Redelivered: the task may already have ended, with only its ack lost.
  st.log->debug("[{} {} {}] delivery {}: checking its record", decoded->uid, decoded->root_uid,
                opts.own_bind.identity, delivered);
  auto key = pipeline::task_key(*decoded);
  self->request(deps.lookup, std::chrono::seconds{10}, get_atom::value, key)
      .then(
          [self, deps, opts, msg, t = std::move(*decoded)](const lookup_result& r) mutable {
            if (!r.error.empty()) return enqueue(self, deps, opts, std::move(msg), std::move(t));
            auto record = r.value ? decode_task(*r.value)
                                  : expected<task>{make_error(errc::not_found, "no record")};
            if (!record || is_terminal(record->status)) {
              self->state.log->debug("[{} {} {}] already ended; acking the redelivery", t.uid,
                                     t.root_uid, opts.own_bind.identity);
              deps.metrics->of(opts.own_bind.identity).duplicates++;
              (void)msg->ack();
              return deps.pull_credit->release();
            }
            enqueue(self, deps, opts, std::move(msg), std::move(t));
          },
          [self, deps, opts, msg](const caf::error&) {
            // Unknown state: run it (at-least-once).
            auto t = decode_task(msg->data());
            enqueue(self, deps, opts, msg, std::move(*t));
          });
}

/// How often a running task's Started record gets a fresh `last_update`,
/// so the housekeeper's `started_timeout` only catches tasks whose worker
/// is gone, never long ones still running.
constexpr double started_refresh_seconds = 60;

void heartbeat_all(scheduler_state& st, const scheduler_deps& deps) {
  for (auto& q : st.queue)
    for (auto& h : q)
      (void)h.msg->in_progress();
  auto now = unix_now();
  for (auto& [_, f] : st.in_flight) {
    (void)f.msg->in_progress();
    if (now - f.job.last_update < started_refresh_seconds) continue;
    // Written from this actor before any terminal record of the task, so
    // the stream keeps them in that order.
    f.job.last_update = now;
    deps.tasks->put_async(pipeline::task_key(f.job), encode(f.job), [](expected<std::uint64_t>) {});
  }
}

void hand_back_queue(scheduler_state& st, const scheduler_deps& deps) {
  for (auto& q : st.queue) {
    for (auto& h : q)
      hand_back(deps, h.msg);
    q.clear();
  }
}

scheduler_actor::behavior_type scheduler(scheduler_actor::stateful_pointer<scheduler_state> self,
                                         scheduler_deps deps, scheduler_options opts) {
  self->state.log = log::get("scheduler." + opts.own_bind.identity);
  for (int i = 0; i < opts.concurrency; ++i)
    if (auto w = spawn_worker(self, deps, opts)) self->state.idle.push_back(w);
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    for (auto& w : self->state.idle)
      caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
    for (auto& [_, f] : self->state.in_flight)
      caf::anon_send_exit(f.worker, caf::exit_reason::user_shutdown);
    self->quit(msg.reason);
  });
  self->delayed_send(self, opts.heartbeat, tick_atom::value);
  return {
      [self, deps, opts](delivered_atom, delivery msg) {
        on_delivered(self, deps, opts, std::move(msg));
      },
      [self, deps, opts](tick_atom) {
        heartbeat_all(self->state, deps);
        if (!self->state.stopping) self->delayed_send(self, opts.heartbeat, tick_atom::value);
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
            f.cancelled->store(true);
            hand_back(deps, f.msg);
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
