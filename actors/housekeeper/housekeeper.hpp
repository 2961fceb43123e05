#pragma once

#include "actors/core/atoms.hpp"
#include "runtime/broker/connection.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "runtime/broker/kv_entry.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/pipeline/metrics.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>
#include <chrono>
#include <memory>
#include <string>

namespace sy::actors {

struct housekeeper_options {
  std::string node;
  /// Time between two passes (leadership refresh, expiries, timeouts).
  std::chrono::milliseconds interval = std::chrono::seconds{5};
  /// How long Crashed records are kept.
  std::chrono::milliseconds crashed_ttl = std::chrono::hours{72};
  /// A task Started longer than this is recorded Crashed.
  std::chrono::milliseconds started_timeout = std::chrono::minutes{30};
  /// A non-persistent bind with no live replica for this long is removed,
  /// with its queue.
  std::chrono::milliseconds bind_offline_ttl = std::chrono::minutes{10};
  /// Time between two passes over the periodic schedules (their resolution).
  std::chrono::milliseconds schedule_interval = std::chrono::seconds{1};
  /// Unreferenced resources are deleted once stored this long.
  std::chrono::milliseconds resource_retention = std::chrono::hours{1};
  std::chrono::milliseconds resource_gc_interval = std::chrono::minutes{1};
  /// How long SY_EVENTS keeps analysis events (`layout_options::logs_max_age`).
  std::chrono::milliseconds events_max_age = pipeline::layout_options{}.logs_max_age;
};

struct housekeeper_deps {
  std::shared_ptr<broker::connection> conn;
  std::shared_ptr<broker::kv_bucket> tasks;
  std::shared_ptr<broker::kv_bucket> binds;
  /// The bucket with expiring entries holding the leadership key.
  std::shared_ptr<broker::kv_bucket> nodes;
  std::shared_ptr<pipeline::metrics> metrics;
  /// The periodic schedules (docs/PLUGINS.md "Schedules").
  std::shared_ptr<broker::kv_bucket> schedules;
};

/// The housekeeper (docs/PIPELINE.md "The housekeeper"): one per node that
/// enables it, one of them leading. The leader reads every update of
/// `sy_tasks`, announces analyses whose last task ended on
/// `sy.events.analysis.<root>`, removes their Finished records, expires
/// Crashed records after `crashed_ttl`, records tasks Started longer than
/// `started_timeout` as Crashed, and removes non-persistent binds (and their
/// queued tasks, recorded Crashed) once no live node has served them for
/// `bind_offline_ttl`. Every `schedule_interval` the leader also sends the
/// periodic schedules that are due. Spawn it detached: leadership calls
/// block.
using housekeeper_actor =
    caf::typed_actor<caf::reacts_to<tick_atom>, caf::reacts_to<schedule_atom>,
                     caf::reacts_to<committed_atom>, caf::reacts_to<broker::kv_entry>>;

/// Spawns a housekeeper on its own thread.
housekeeper_actor spawn_housekeeper(caf::actor_system& sys, housekeeper_deps deps,
                                    housekeeper_options opts);

/// The key of the leadership lease in `sy_nodes`.
inline constexpr const char* housekeeper_lease_key = "lease.housekeeper";

/// Gives up the lease if `node` holds it, so that another node's
/// housekeeper leads at its next pass instead of after the lease expired.
/// For a node that stops; blocking.
void release_housekeeper_lease(broker::kv_bucket& nodes, const std::string& node);

} // namespace sy::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sy::broker::kv_entry)
