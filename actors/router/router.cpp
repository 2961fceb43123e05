#include "actors/router/router.hpp"

#include "actors/core/mailbox_batch.hpp"
#include "runtime/log/log.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/task/codec.hpp"
#include "runtime/task/resource_ref.hpp"
#include "runtime/task/uid.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <map>
#include <optional>
#include <unordered_map>

namespace sy::actors {

struct router_state {
  std::map<std::string, std::shared_ptr<const pipeline::compiled_bind>> binds;
  /// Tasks cancelled before they were routed, with when their entries in
  /// `sy_cancelled` expire (Unix seconds).
  std::unordered_map<std::string, double> cancelled;
  /// When expired entries are dropped next (Unix seconds).
  double next_sweep = 0;
  std::shared_ptr<spdlog::logger> log = log::get("router");
};

namespace {

using namespace std::chrono_literals;

/// Delay before a task whose routing failed is delivered again.
constexpr auto retry_delay = std::chrono::seconds{1};

/// One unrouted task being routed: counts the forks' confirmations, then
/// marks the unrouted record routed and acks. Lives in broker callbacks.
struct route_job : std::enable_shared_from_this<route_job> {
  router_deps deps;
  delivery msg;
  task unrouted;
  /// The uids of its forks, listed in the routed record.
  std::vector<std::string> forks;
  /// A root without a record, forked for one identity: its fork's record
  /// stands for the routed record (`task::sole_fork`).
  bool sole = false;
  /// The revision of the sole fork's record when this job created it (not
  /// found it there); 0 otherwise, as revisions start at 1.
  std::atomic<std::uint64_t> created_revision{0};
  /// The stream had the fork's queue message already (a duplicate).
  std::atomic<bool> queued_before{false};
  /// Only publishes again a sole fork an earlier attempt recorded.
  bool republish = false;
  std::atomic<int> pending{0};
  std::atomic<bool> failed{false};
  std::string first_error;
  std::mutex error_mutex;

  void fail(const std::string& what) {
    std::lock_guard<std::mutex> guard{error_mutex};
    if (!failed.exchange(true)) first_error = what;
  }

  /// One fork write confirmed (or failed); the last one finishes the job.
  void step_done() {
    if (--pending > 0) return;
    if (failed) {
      log::get("router")->warn("[{} {}] routing failed, retrying in {}s: {}", unrouted.uid,
                               unrouted.root_uid, retry_delay.count(), first_error);
      (void)msg->nak(retry_delay);
      deps.pull_credit->release(*msg);
      return;
    }
    bool created = created_revision != 0;
    if (sole && created && queued_before) return take_back_record();
    // A sole fork's record this job found there may be an earlier
    // attempt's that forked the task for more identities: it does not tell.
    if (sole && (created || republish)) {
      (void)msg->ack();
      deps.pull_credit->release(*msg);
      return;
    }
    mark_routed();
  }

  /// A sole fork queued by an earlier attempt whose record create was lost
  /// or refused: this attempt's record may be created after the fork ran
  /// and its analysis was announced and removed, and would then stay
  /// Spawned for good. So it goes again unless the worker wrote over it;
  /// the worker's own records bring the fork back.
  void take_back_record() {
    auto self = shared_from_this();
    deps.tasks->erase_async(
        pipeline::task_key(unrouted.root_uid, forks.front()),
        [self](expected<std::uint64_t> erased) {
          if (erased || erased.error().code == errc::conflict)
            log::get("router")->debug("[{}] {} was queued before its record: record taken back",
                                      self->unrouted.uid, self->forks.front());
          else
            log::get("router")->warn("[{}] {} was queued before its record, which stays: {}; if "
                                     "the fork already ran, cancel it",
                                     self->unrouted.uid, self->forks.front(),
                                     erased.error().message);
          (void)self->msg->ack();
          self->deps.pull_credit->release(*self->msg);
        },
        created_revision.load());
  }

  /// Overwrites the unrouted record as Finished: routing is done and the
  /// housekeeper may count the task out of its analysis.
  void mark_routed() {
    auto self = shared_from_this();
    deps.tasks->put_async(pipeline::task_key(unrouted), encode(routed_record(unrouted, forks)),
                          [self](expected<std::uint64_t> stored) {
                            if (stored) {
                              (void)self->msg->ack();
                            } else {
                              log::get("router")->warn("[{}] cannot mark routed, retrying: {}",
                                                       self->unrouted.uid, stored.error().message);
                              (void)self->msg->nak(retry_delay);
                            }
                            self->deps.pull_credit->release(*self->msg);
                          });
  }

  void publish(const task& fork, std::string bytes) {
    broker::outgoing_message out;
    out.subject = pipeline::queue_subject(fork.receiver, fork.priority);
    out.data = std::move(bytes);
    out.msg_id = fork.uid;
    deps.conn->js_publish_async(out, [self = shared_from_this()](expected<broker::pub_ack> ack) {
      if (!ack)
        self->fail("publish: " + ack.error().message);
      else if (ack->duplicate)
        self->queued_before = true;
      self->step_done();
    });
  }
};

/// Publishes undecodable bytes to SY_PARKED with the reason, then acks them.
void park(const router_deps& deps, const delivery& msg, const std::string& reason) {
  deps.metrics->parked++;
  broker::outgoing_message parked;
  parked.subject = pipeline::parked_subject("unrouted");
  parked.data = std::string{msg->data()};
  parked.headers = {{"Sy-Error", reason}, {"Sy-Subject", std::string{msg->subject()}}};
  deps.conn->js_publish_async(parked, [deps, msg](expected<broker::pub_ack> ack) {
    if (ack)
      (void)msg->ack();
    else
      (void)msg->nak(retry_delay);
    deps.pull_credit->release(*msg);
  });
}

/// Whether `t` is a root that has no record of its own: the producer
/// writes one only for a root that refers to resources.
bool is_unrecorded_root(const task& t) {
  return t.uid == t.root_uid && find_resources(t.payload).empty();
}

/// The identities whose binds match `t`, in name order.
std::vector<std::string> receivers_of(const router_state& st, const task& t) {
  std::vector<std::string> out;
  for (const auto& [identity, b] : st.binds)
    if (b->filters.matches(t.headers)) out.push_back(identity);
  return out;
}

void route(router_state& st, const router_deps& deps, delivery msg, task unrouted) {
  if (auto c = st.cancelled.find(unrouted.uid);
      c != st.cancelled.end() && c->second >= unix_now()) {
    // Its record says Crashed, "cancelled by user", since the cancel.
    st.log->info("[{} {}] cancelled before it was routed: not routed", unrouted.uid,
                 unrouted.root_uid);
    (void)msg->ack();
    deps.pull_credit->release(*msg);
    return;
  }
  auto receivers = receivers_of(st, unrouted);
  auto job = std::make_shared<route_job>();
  job->deps = deps;
  job->msg = std::move(msg);
  job->unrouted = std::move(unrouted);
  if (receivers.empty()) {
    deps.metrics->unmatched++;
    st.log->info("[{} {}] no bind matches; headers {}", job->unrouted.uid, job->unrouted.root_uid,
                 to_display_json(job->unrouted.headers));
    job->mark_routed();
    return;
  }
  deps.metrics->routed++;
  job->sole = receivers.size() == 1 && is_unrecorded_root(job->unrouted);
  job->pending = static_cast<int>(2 * receivers.size());
  for (const auto& identity : receivers) {
    auto fork = fork_for(job->unrouted, identity);
    fork.sole_fork = job->sole;
    job->forks.push_back(fork.uid);
    deps.metrics->of(identity).produced++;
    auto bytes = encode(fork);
    // Create-only: a redelivered task must not move a fork that a worker
    // already started back to Spawned. A sole fork must never be queued
    // before its record is stored: its analysis may complete as soon as
    // the fork ends, and a redelivered root then must find the record, or
    // the announcement, never a queued fork without either. A standalone
    // server stores both in the order sent; elsewhere the fork is
    // published once its record is confirmed.
    bool after_record = job->sole && !deps.in_order;
    deps.tasks->update_async(
        pipeline::task_key(fork), bytes, 0,
        [job, fork = after_record ? std::optional<task>{fork} : std::nullopt,
         bytes = after_record ? bytes : std::string{}](expected<std::uint64_t> stored) {
          if (stored) {
            job->created_revision = *stored;
          } else if (stored.error().code != errc::conflict) {
            job->fail("record: " + stored.error().message);
            if (fork) job->step_done(); // its publish, not attempted
          }
          if (fork && (stored || stored.error().code == errc::conflict)) job->publish(*fork, bytes);
          job->step_done();
        });
    if (!after_record) job->publish(fork, std::move(bytes));
  }
}

/// Publishes the sole fork of `unrouted` again, whose record an earlier
/// routing wrote (`existing`), and acks; the publish is dropped as a
/// duplicate if that routing's got through.
void republish_sole_fork(const router_deps& deps, delivery msg, task unrouted,
                         const task& existing) {
  auto job = std::make_shared<route_job>();
  job->deps = deps;
  job->msg = std::move(msg);
  job->unrouted = std::move(unrouted);
  job->sole = true;
  job->republish = true;
  job->pending = 1;
  auto fork = fork_for(job->unrouted, existing.receiver);
  fork.sole_fork = true;
  job->publish(fork, encode(fork));
}

} // namespace

namespace {

void skip_routed(router_state& st, const router_deps& deps, const delivery& msg, const task& t) {
  st.log->debug("[{}] already routed, acking the redelivery", t.uid);
  (void)msg->ack();
  deps.pull_credit->release(*msg);
}

void retry_later(router_state& st, const router_deps& deps, const delivery& msg,
                 const std::string& why) {
  st.log->warn("record lookup failed, retrying: {}", why);
  (void)msg->nak(retry_delay);
  deps.pull_credit->release(*msg);
}

/// A redelivered root without a record: published without one (any NATS
/// client may), or routed, completed and removed. The housekeeper removes
/// records only after announcing the analysis, and announces it only once
/// its root's routing is known complete, so the announcement tells the two
/// apart. `sole` is the record of a sole fork an earlier attempt wrote,
/// read before the announcement: that attempt routed the task.
void check_announced(router_actor::stateful_pointer<router_state> self, const router_deps& deps,
                     delivery msg, task t, std::optional<task> sole) {
  self->request(deps.lookup, std::chrono::seconds{10}, announced_atom::value, t.root_uid)
      .then(
          [self, deps, msg, t, sole](const lookup_result& r) mutable {
            if (!r.error.empty()) return retry_later(self->state, deps, msg, r.error);
            if (r.value) return skip_routed(self->state, deps, msg, t);
            if (sole && is_terminal(sole->status)) return skip_routed(self->state, deps, msg, t);
            if (sole) {
              self->state.log->debug("[{}] routed to {} before: publishing it again", t.uid,
                                     sole->uid);
              return republish_sole_fork(deps, std::move(msg), std::move(t), *sole);
            }
            self->state.log->debug("[{}] no record and not announced: routing it", t.uid);
            route(self->state, deps, std::move(msg), std::move(t));
          },
          [self, deps, msg](const caf::error& e) {
            retry_later(self->state, deps, msg, self->system().render(e));
          });
}

/// A redelivered root without a record: reads the records of the forks it
/// would get now, one after the other from `next`, for a sole fork that an
/// earlier attempt created (its analysis may complete without the root's
/// ack, so creating that record again once it was removed would leave a
/// fork that never runs), then checks the announcement.
void check_forks(router_actor::stateful_pointer<router_state> self, const router_deps& deps,
                 delivery msg, task t, std::vector<std::string> receivers, std::size_t next = 0) {
  if (next == receivers.size())
    return check_announced(self, deps, std::move(msg), std::move(t), std::nullopt);
  auto key = pipeline::task_key(t.root_uid, fork_uid(t.uid, receivers[next]));
  self->request(deps.lookup, std::chrono::seconds{10}, get_atom::value, key)
      .then(
          [self, deps, msg, t, receivers = std::move(receivers),
           next](const lookup_result& r) mutable {
            if (!r.error.empty())
              return retry_later(self->state, deps, msg, "[" + t.uid + "] " + r.error);
            if (auto fork = found_task(r); fork && fork->sole_fork)
              return check_announced(self, deps, std::move(msg), std::move(t), std::move(*fork));
            check_forks(self, deps, std::move(msg), std::move(t), std::move(receivers), next + 1);
          },
          [self, deps, msg](const caf::error& e) {
            retry_later(self->state, deps, msg, self->system().render(e));
          });
}

router_actor::behavior_type router(router_actor::stateful_pointer<router_state> self,
                                   router_deps deps) {
  return {
      [self, deps](delivered_atom, delivery msg) {
        auto batch = batch_writes<batched<delivered_atom, delivery>>(self);
        auto decoded = decode_task(msg->data());
        if (!decoded) {
          self->state.log->warn("parking undecodable message on {}: {}", msg->subject(),
                                decoded.error().message);
          return park(deps, msg, decoded.error().message);
        }
        if (!pipeline::is_key_token(decoded->uid) || !pipeline::is_key_token(decoded->root_uid)) {
          self->state.log->warn("parking task with unusable uid \"{}\" / root \"{}\"", decoded->uid,
                                decoded->root_uid);
          return park(deps, msg, "uid and root_uid must be [A-Za-z0-9_-]+");
        }
        auto meta = msg->metadata();
        if (!meta || meta->num_delivered <= 1)
          return route(self->state, deps, std::move(msg), std::move(*decoded));
        // Redelivered: the earlier attempt may have finished routing and only
        // lost its ack. The unrouted record tells.
        self->state.log->debug("[{} {}] delivery {}: checking its record", decoded->uid,
                               decoded->root_uid, meta->num_delivered);
        auto key = pipeline::task_key(*decoded);
        self->request(deps.lookup, std::chrono::seconds{10}, get_atom::value, key)
            .then(
                [self, deps, msg, t = std::move(*decoded)](const lookup_result& r) mutable {
                  if (!r.error.empty())
                    return retry_later(self->state, deps, msg, "[" + t.uid + "] " + r.error);
                  auto record = found_task(r);
                  if (record && record->status == task_status::declared) {
                    // A root without resources is routed as one without a
                    // record (a producer that wrote one anyway): its sole
                    // fork may have been routed, run and removed.
                    if (is_unrecorded_root(t)) {
                      auto receivers = receivers_of(self->state, t);
                      return check_forks(self, deps, std::move(msg), std::move(t),
                                         std::move(receivers));
                    }
                    return route(self->state, deps, std::move(msg), std::move(t));
                  }
                  if (record || t.uid != t.root_uid) return skip_routed(self->state, deps, msg, t);
                  if (!is_unrecorded_root(t))
                    return check_announced(self, deps, std::move(msg), std::move(t), std::nullopt);
                  auto receivers = receivers_of(self->state, t);
                  check_forks(self, deps, std::move(msg), std::move(t), std::move(receivers));
                },
                [self, deps, msg](const caf::error& e) {
                  retry_later(self->state, deps, msg, self->system().render(e));
                });
      },
      [self](binds_atom, const bind_update& update) {
        if (update.bind)
          self->state.binds[update.identity] = update.bind;
        else
          self->state.binds.erase(update.identity);
      },
      [self](cancel_atom, const std::string& uid, double expires) {
        auto& st = self->state;
        auto now = unix_now();
        if (now >= st.next_sweep) { // the bucket dropped expired entries: forget them
          for (auto i = st.cancelled.begin(); i != st.cancelled.end();)
            i = i->second < now ? st.cancelled.erase(i) : std::next(i);
          st.next_sweep = now + 60;
        }
        if (expires >= now) st.cancelled[uid] = expires;
      },
  };
}

} // namespace

router_actor spawn_router(caf::actor_system& sys, router_deps deps) {
  return sys.spawn(router, std::move(deps));
}

expected<broker::kv_watcher> follow_routing_cancels(const broker::kv_bucket& cancelled,
                                                    std::vector<router_actor> routers,
                                                    std::function<void()> on_caught_up) {
  broker::kv_watch_options opts;
  opts.on_caught_up = std::move(on_caught_up);
  opts.on_error = [](const error& e) {
    log::get("router")->error("following cancellations stopped: {}; a task cancelled before it "
                              "was routed may be routed",
                              e.message);
  };
  auto on_cancel = [routers = std::move(routers)](const std::string& uid, double expires) {
    for (const auto& r : routers)
      caf::anon_send(r, cancel_atom::value, uid, expires);
  };
  return pipeline::follow_cancels(cancelled, "", std::move(on_cancel), std::move(opts));
}

} // namespace sy::actors
