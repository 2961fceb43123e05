#pragma once

#include "actors/scheduler/scheduler.hpp"
#include "runtime/broker/connection.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "runtime/broker/pull_consumer.hpp"
#include "runtime/config/loaded_config.hpp"
#include "runtime/plugin/registry.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sy::actors {

/// The consumer "plugin" of identities served by workers outside the node
/// through the HTTP API (docs/API.md "External workers").
inline constexpr const char* external_plugin = "sy.external";

/// One consumer identity as this node will serve it.
struct consumer_plan {
  pipeline::bind bind;
  scheduler_options options;
  std::function<expected<std::unique_ptr<consumer>>()> make_consumer;
  /// Make the queue's scheduler and ranker (one each).
  std::function<expected<std::unique_ptr<scheduler>>()> make_scheduler;
  std::function<expected<std::unique_ptr<ranker>>()> make_ranker;
  /// The durable consumer's ack wait (broker.ack_wait).
  std::chrono::milliseconds ack_wait{30000};
};

/// What a node runs, checked before anything starts.
struct node_plan {
  int routers = 0;
  std::vector<consumer_plan> consumers;
  /// Owns the factories `make_consumer` calls.
  std::shared_ptr<plugin::registry> registry;

  /// "a, b, c" for log lines.
  std::string identities() const;
};

/// Loads the plugin directories, then checks every [[consumer]] of `loaded`
/// against the plugin registry (consumer, scheduler and ranker: name,
/// config, and one object made) and compiles its filters. Errors name the
/// file, line and key, and for plugins the library file.
expected<node_plan> make_node_plan(const config::loaded_config& loaded,
                                   const std::string& node_name);

/// Creates the durable consumers of the router and of every planned
/// identity, then stores the binds in `sy_binds`. Blocking.
expected<void> register_binds(broker::connection& conn, broker::kv_bucket& binds,
                              const node_plan& plan, const config::node_config& cfg);

/// How routers and schedulers pull (window, batch; callbacks left empty).
broker::pull_options router_pull_options(const config::node_config& cfg, priority p);
broker::pull_options queue_pull_options(const consumer_plan& plan, priority p);

} // namespace sy::actors
