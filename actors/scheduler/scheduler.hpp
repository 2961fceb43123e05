#pragma once

#include "actors/core/atoms.hpp"
#include "actors/core/delivery.hpp"
#include "actors/core/lookup.hpp"
#include "actors/router/router.hpp"
#include "actors/scheduler/lease.hpp"
#include "runtime/broker/connection.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "runtime/pipeline/bind.hpp"
#include "runtime/pipeline/metrics.hpp"
#include "runtime/plugin/consumer.hpp"
#include "runtime/plugin/ranker.hpp"
#include "runtime/plugin/scheduler.hpp"

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace sy::actors {

/// Lifetime of the pull requests on an identity's queue. A request still
/// waiting at the server when its puller stops (or pauses) takes whatever
/// becomes deliverable and sends it to an inbox nobody reads, where it waits
/// for ack_wait: short requests keep that window short.
inline constexpr std::chrono::milliseconds queue_pull_expires{2000};

/// Delay of the nak that hands a task back (graceful or hard stop, retired
/// bind): longer than any pull request of this node can still wait at the
/// server, so the task goes to a live puller instead of into one of those.
inline constexpr std::chrono::milliseconds hand_back_delay =
    queue_pull_expires + std::chrono::seconds{1};

/// How one identity's queue is served on this node.
struct scheduler_options {
  /// The bind this node registered for the identity.
  pipeline::bind own_bind;
  /// Workers, i.e. tasks processed at once.
  int concurrency = 1;
  /// A task running longer is recorded Crashed and its worker replaced.
  std::chrono::milliseconds task_timeout = std::chrono::minutes{10};
  /// A node worker's task gets its Started record once it has run this
  /// long (0: at once); leased tasks get it when leased.
  std::chrono::milliseconds record_started_after{0};
  /// Interval of in-progress acks for every held message; must be well below
  /// the consumer's ack wait.
  std::chrono::milliseconds heartbeat = std::chrono::seconds{10};
  /// Deliveries after which a task is recorded Crashed instead of run.
  int max_deliver = 5;
  /// Served by workers outside the node (docs/API.md): no worker actors;
  /// `concurrency` bounds the tasks leased at once, `lease` how long one
  /// lasts without a report.
  bool external = false;
  std::chrono::milliseconds lease = std::chrono::seconds{60};
};

/// What a scheduler needs; shared with the node that spawned it.
struct scheduler_deps {
  std::shared_ptr<broker::connection> conn;
  std::shared_ptr<broker::kv_bucket> tasks;
  std::shared_ptr<pipeline::metrics> metrics;
  /// Credit of the puller on the identity's durable consumer.
  std::shared_ptr<credit> pull_credit;
  lookup_actor lookup;
  /// Makes one consumer instance per worker.
  std::function<expected<std::unique_ptr<consumer>>()> make_consumer;
  /// The queue's order (scheduler plugin) and ranker; used by this
  /// scheduler actor only.
  std::shared_ptr<scheduler> order;
  std::shared_ptr<ranker> rank;
  /// Bucket `sy_runs`: when tasks last finished, by hash, shared by every
  /// node; used only for rankers that ask.
  std::shared_ptr<broker::kv_bucket> runs;
  /// Bucket `sy_cancelled`: tasks an operator cancelled, followed for this
  /// identity. May be null (nothing is cancelled then).
  std::shared_ptr<broker::kv_bucket> cancelled;
  /// Reads task resources for the consumers (see `worker_options`).
  std::function<expected<void>(const resource_ref&, const resource_sink&)> read_resource;
};

/// The scheduler of one identity on one node: holds a bounded window of
/// pulled tasks, has the queue's ranker score them and its scheduler plugin
/// order them (and find duplicates, and say when it is full: the actor then
/// stops pulling), hands the best one to a free worker, records Started /
/// Finished / Crashed and acks after the effects are durable
/// (docs/PIPELINE.md).
///
/// For an external identity (`scheduler_options::external`), `pop_atom, n`
/// leases up to `n` of the best waiting tasks and `report_atom` ends or
/// extends a lease (actors/scheduler/lease.hpp).
///
/// `stop_atom, false` stops gracefully: queued tasks are handed back, the
/// reply comes once in-flight tasks finished and were committed. `stop_atom,
/// true` hands back in-flight tasks too and replies at once.
using scheduler_actor =
    caf::typed_actor<caf::reacts_to<delivered_atom, delivery>, caf::reacts_to<tick_atom>,
                     caf::reacts_to<started_atom>, caf::reacts_to<timeout_atom>,
                     caf::reacts_to<committed_atom>, caf::reacts_to<heartbeat_atom, std::string>,
                     caf::reacts_to<binds_atom, bind_update>,
                     caf::reacts_to<last_run_atom, std::string, double>,
                     caf::replies_to<pop_atom, int>::with<lease_batch>,
                     caf::replies_to<report_atom, lease_report>::with<report_reply>,
                     caf::reacts_to<lease_atom, std::string, std::string>,
                     caf::reacts_to<cancel_atom, std::string, double>,
                     caf::replies_to<stop_atom, bool>::with<stopped_atom>>;

/// Spawns a scheduler and its `concurrency` workers on `sys`.
scheduler_actor spawn_scheduler(caf::actor_system& sys, scheduler_deps deps,
                                scheduler_options opts);

} // namespace sy::actors
