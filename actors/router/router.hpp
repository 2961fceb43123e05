#pragma once

#include "actors/core/atoms.hpp"
#include "actors/core/delivery.hpp"
#include "actors/core/lookup.hpp"
#include "runtime/broker/connection.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "runtime/pipeline/bind.hpp"
#include "runtime/pipeline/metrics.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sy::actors {

/// A bind was stored (`bind` set) or removed (`bind` empty) in `sy_binds`.
struct bind_update {
  std::string identity;
  std::shared_ptr<const pipeline::compiled_bind> bind;
};

/// What a router needs; shared with the node that spawned it.
struct router_deps {
  std::shared_ptr<broker::connection> conn;
  std::shared_ptr<broker::kv_bucket> tasks;
  std::shared_ptr<pipeline::metrics> metrics;
  /// Credit of the puller on SY_UNROUTED that feeds this router.
  std::shared_ptr<credit> pull_credit;
  /// For the records of redelivered tasks.
  lookup_actor lookup;
  /// The broker stores this connection's publishes in the order sent,
  /// whatever their streams (`pipeline::on_standalone_server`): a sole
  /// fork's record and queue message may then be written together.
  bool in_order = false;
};

/// A router forks each unrouted task to every identity whose bind matches
/// (docs/PIPELINE.md): create-only `Spawned` records and queue publishes
/// with deterministic fork uids, then the unrouted record is marked routed,
/// then the message is acked. Any number of routers may run, on any node;
/// they share the durable consumer `router`.
///
/// A task an operator cancelled before it was routed (its uid, and when its
/// entry in `sy_cancelled` expires, as Unix seconds) is acked unrouted.
using router_actor = caf::typed_actor<caf::reacts_to<delivered_atom, delivery>,
                                      caf::reacts_to<binds_atom, bind_update>,
                                      caf::reacts_to<cancel_atom, std::string, double>>;

/// Spawns a router on `sys`.
router_actor spawn_router(caf::actor_system& sys, router_deps deps);

/// Tells `routers` of every task cancelled before it was routed (keys
/// `_routing.<uid>` of `sy_cancelled`) until the returned watcher stops:
/// first those cancelled earlier, then `on_caught_up` runs, then new ones.
expected<broker::kv_watcher> follow_routing_cancels(const broker::kv_bucket& cancelled,
                                                    std::vector<router_actor> routers,
                                                    std::function<void()> on_caught_up);

} // namespace sy::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sy::actors::bind_update)
