#include "actors/node/node_plan.hpp"

#include "runtime/broker/consumer_spec.hpp"
#include "runtime/log/log.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/plugin/loader.hpp"

namespace sy::actors {

namespace {

/// Tasks a scheduler holds per worker beyond those running, so that a
/// worker never waits for a round trip to the broker.
constexpr int window_per_worker = 4;
constexpr int min_window = 32;

error at(const config::loaded_config& loaded, std::size_t index, const std::string& key,
         const std::string& what) {
  // "scheduler.config" may have come with its table: name where that was.
  auto where = loaded.consumer_source_of(index, key);
  if (where.type == config::source::kind::default_value && key.find('.') != std::string::npos)
    where = loaded.consumer_source_of(index, key.substr(0, key.find('.')));
  return make_error(errc::config, where.to_string() + ": [consumer] #" + std::to_string(index + 1) +
                                      " key \"" + key + "\": " + what);
}

} // namespace

std::string node_plan::identities() const {
  std::string out;
  for (const auto& c : consumers)
    out += (out.empty() ? "" : ", ") + c.bind.identity;
  return out;
}

expected<node_plan> make_node_plan(const config::loaded_config& loaded,
                                   const std::string& node_name) {
  const auto& cfg = loaded.config;
  node_plan plan;
  plan.routers = cfg.router.instances;
  plan.registry = std::make_shared<plugin::registry>();
  plugin::add_builtins(*plan.registry);
  if (auto r = plugin::load_directories(cfg.plugins.dirs, *plan.registry); !r)
    return make_error(errc::config, loaded.source_of("plugins.dirs").to_string() +
                                        ": [plugins] key \"dirs\": " + r.error().message);
  for (std::size_t i = 0; i < cfg.consumers.size(); ++i) {
    const auto& c = cfg.consumers[i];
    // Each plugin named, then its config, then one object made from it: a
    // factory that fails does so now, before anything starts.
    auto check = [&](const auto* factory, const std::string& key, const char* kind,
                     const std::string& name, const value& config,
                     const std::string& known) -> expected<void> {
      if (!factory)
        return at(loaded, i, key,
                  std::string{"no "} + kind + " plugin named \"" + name + "\" (known: " + known +
                      "; plugins.dirs adds more)");
      auto config_key =
          key == "plugin" ? std::string{"config"} : key.substr(0, key.find('.')) + ".config";
      if (factory->validate)
        if (auto r = factory->validate(config); !r)
          return at(loaded, i, config_key, r.error().message);
      if (auto made = factory->create(config); !made)
        return at(loaded, i, key,
                  name + " from " + factory->origin + " failed to create: " + made.error().message);
      return {};
    };
    const auto& known = *plan.registry;
    bool external = c.plugin == external_plugin;
    if (external && !(c.config.json.is_null() || c.config.json.empty()))
      return at(loaded, i, "config",
                std::string{external_plugin} +
                    " takes no config: its workers are outside the node");
    if (auto r = external ? expected<void>{}
                          : check(known.find_consumer(c.plugin), "plugin", "consumer", c.plugin,
                                  c.config.json, known.consumer_names() + ", " + external_plugin);
        !r)
      return r.error();
    if (auto r = check(known.find_scheduler(c.scheduler.name), "scheduler.name", "scheduler",
                       c.scheduler.name, c.scheduler.config.json, known.scheduler_names());
        !r)
      return r.error();
    if (auto r = check(known.find_ranker(c.ranker.name), "ranker.name", "ranker", c.ranker.name,
                       c.ranker.config.json, known.ranker_names());
        !r)
      return r.error();
    consumer_plan cp;
    cp.bind.identity = c.identity;
    cp.bind.filters = c.filters.json;
    cp.bind.persistent = c.persistent;
    cp.bind.service_version = c.service_version;
    cp.bind.info = c.info;
    cp.bind.external = external;
    cp.bind.node = node_name;
    cp.bind.registered_at = unix_now();
    auto compiled = pipeline::compile_bind(pipeline::to_json(cp.bind));
    if (!compiled) return at(loaded, i, "filters", compiled.error().message);
    cp.options.own_bind = cp.bind;
    cp.options.concurrency = c.concurrency;
    cp.options.task_timeout = c.task_timeout;
    cp.options.record_started_after = c.record_started_after;
    cp.options.max_deliver = c.max_deliver;
    cp.options.external = external;
    cp.options.lease = c.lease;
    cp.ack_wait = cfg.broker.ack_wait;
    // In-progress acks well inside the ack wait, even if `heartbeat` is not.
    cp.options.heartbeat = std::min(c.heartbeat, cfg.broker.ack_wait / 3);
    auto reg = plan.registry;
    auto plugin_name = c.plugin;
    auto plugin_config = c.config.json;
    if (!external)
      cp.make_consumer = [reg, plugin_name, plugin_config] {
        return reg->find_consumer(plugin_name)->create(plugin_config);
      };
    cp.make_scheduler = [reg, ref = c.scheduler] {
      return reg->find_scheduler(ref.name)->create(ref.config.json);
    };
    cp.make_ranker = [reg, ref = c.ranker] {
      return reg->find_ranker(ref.name)->create(ref.config.json);
    };
    plan.consumers.push_back(std::move(cp));
  }
  return plan;
}

namespace {

/// Deletes `durable`, a consumer of an earlier version whose filter overlaps
/// the per-priority ones (a work-queue stream refuses overlaps); what it held
/// unacked is delivered again through the new ones.
expected<void> remove_shared_durable(broker::connection& conn, const std::string& stream,
                                     const std::string& durable, const std::string& whose) {
  if (!broker::consumer_info(conn, stream, durable)) return {};
  log::get("node")->warn("removing the {} shared consumer \"{}\" of an earlier version (one "
                         "per priority now); nodes still using it stop taking its tasks",
                         whose, durable);
  auto r = broker::delete_consumer(conn, stream, durable);
  if (!r && r.error().code != errc::not_found) return r.error();
  return {};
}

} // namespace

expected<void> register_binds(broker::connection& conn, broker::kv_bucket& binds,
                              const node_plan& plan, const config::node_config& cfg) {
  if (auto r = remove_shared_durable(conn, pipeline::unrouted_stream,
                                     pipeline::shared_router_durable, "routers'");
      !r)
    return r;
  for (auto p : pipeline::priorities) {
    broker::consumer_spec spec;
    spec.stream = pipeline::unrouted_stream;
    spec.durable = pipeline::router_durable(p);
    spec.filter_subject = pipeline::unrouted_subject(p);
    spec.ack_wait = cfg.broker.ack_wait;
    spec.max_ack_pending = 20000;
    spec.description = "switchyard routers, " + std::string{to_string(p)} + " priority";
    if (auto r = broker::ensure_consumer(conn, spec); !r) return r.error();
  }
  for (const auto& c : plan.consumers) {
    const auto& identity = c.bind.identity;
    if (auto r = remove_shared_durable(conn, pipeline::queues_stream,
                                       pipeline::shared_queue_durable(identity),
                                       "queue " + identity + "'s");
        !r)
      return r;
    for (auto p : pipeline::priorities) {
      broker::consumer_spec spec;
      spec.stream = pipeline::queues_stream;
      spec.durable = pipeline::queue_durable(identity, p);
      spec.filter_subject = pipeline::queue_subject(identity, p);
      spec.ack_wait = c.ack_wait;
      spec.max_ack_pending = 20000;
      spec.description =
          "switchyard consumer " + identity + ", " + std::string{to_string(p)} + " priority";
      if (auto r = broker::ensure_consumer(conn, spec); !r) return r.error();
    }
    if (auto r = binds.put(identity, pipeline::to_json(c.bind).dump()); !r) return r.error();
  }
  return {};
}

broker::pull_options router_pull_options(const config::node_config& cfg, priority p) {
  broker::pull_options opts;
  opts.stream = pipeline::unrouted_stream;
  opts.consumer = pipeline::router_durable(p);
  opts.window = cfg.router.batch;
  opts.batch = std::max(1, cfg.router.batch / 4);
  return opts;
}

broker::pull_options queue_pull_options(const consumer_plan& plan, priority p) {
  broker::pull_options opts;
  opts.stream = pipeline::queues_stream;
  opts.consumer = pipeline::queue_durable(plan.bind.identity, p);
  opts.window = std::max(min_window, window_per_worker * plan.options.concurrency);
  opts.batch = std::max(1, opts.window / 4);
  opts.expires = queue_pull_expires;
  opts.idle_heartbeat = queue_pull_expires / 2;
  return opts;
}

} // namespace sy::actors
