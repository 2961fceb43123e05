#include "actors/node/node.hpp"

#include "actors/api/api_server.hpp"
#include "actors/core/lookup.hpp"
#include "actors/housekeeper/housekeeper.hpp"
#include "actors/node/node_plan.hpp"
#include "actors/router/router.hpp"
#include "actors/scheduler/scheduler.hpp"
#include "runtime/broker/consumer_spec.hpp"
#include "runtime/broker/embedded_server.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "runtime/broker/pull_consumer.hpp"
#include "runtime/core/cpu_affinity.hpp"
#include "runtime/core/cpu_latency.hpp"
#include "runtime/log/log.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/pipeline/log_publisher.hpp"
#include "runtime/pipeline/resource_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <future>
#include <optional>
#include <thread>
#include <unistd.h>

namespace sy::actors {

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

/// A puller and the credit handle its actor returns credit through.
struct feed {
  std::shared_ptr<credit> pull_credit = std::make_shared<credit>();
  /// The priority its puller delivers (a scheduler's three pullers share
  /// one credit handle).
  priority delivers = priority::normal;
  std::unique_ptr<broker::pull_consumer> puller;

  void stop() {
    if (puller) {
      (void)puller->stop(5s);
      pull_credit->detach();
    }
  }
};

/// Waits up to `timeout` for SIGINT/SIGTERM (blocked beforehand); returns
/// the signal or 0.
int wait_signal(const sigset_t& set, milliseconds timeout) {
  timespec ts{static_cast<time_t>(timeout.count() / 1000),
              static_cast<long>(timeout.count() % 1000) * 1000000};
  int sig = sigtimedwait(&set, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

std::string default_node_name() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return std::string{host} + "-" + std::to_string(getpid());
}

/// Connects to the broker; `closing` silences the disconnect nats.c reports
/// when the node itself closes the connection at exit.
expected<std::shared_ptr<broker::connection>>
connect_broker(const config::node_config& cfg, const std::string& name,
               std::vector<std::string> urls, std::shared_ptr<std::atomic<bool>> closing) {
  broker::connection_options opts;
  opts.urls = std::move(urls);
  opts.name = "switchyard-node " + name;
  opts.connect_timeout = cfg.broker.connect_timeout;
  auto log = log::get("broker");
  opts.on_disconnected = [log, closing](const std::string& url) {
    if (!*closing) log->warn("disconnected from NATS at {}; reconnecting", url);
  };
  opts.on_reconnected = [log](const std::string& url) { log->info("reconnected to {}", url); };
  opts.on_error = [log](const std::string& what) { log->warn("NATS: {}", what); };
  return broker::connection::connect(opts);
}

value heartbeat_record(const std::string& name, const node_plan& plan,
                       const pipeline::metrics& metrics, double started_at) {
  value consumers = value::array();
  for (const auto& c : plan.consumers)
    consumers.push_back({{"identity", c.bind.identity},
                         {"concurrency", c.options.concurrency},
                         {"service_version", c.bind.service_version},
                         {"persistent", c.bind.persistent}});
  return {{"node", name},
          {"pid", getpid()},
          {"started_at", started_at},
          {"updated_at", unix_now()},
          {"routers", plan.routers},
          {"consumers", consumers},
          {"metrics", metrics.to_json()}};
}

/// How long a starting node waits for JetStream to answer (a cluster
/// electing its meta leader), retrying with backoff.
constexpr std::chrono::minutes layout_patience{2};

/// Runs `step` until it succeeds, again with backoff while it fails with
/// `errc::unavailable` (a JetStream cluster that just formed, or is
/// electing a leader, answers late), for up to `layout_patience`. A signal
/// meanwhile stops the node. Returns the exit code to stop with, or none.
std::optional<int> start_step(const sigset_t& signals, spdlog::logger& log,
                              const std::function<expected<void>()>& step) {
  auto retry_until = std::chrono::steady_clock::now() + layout_patience;
  for (auto backoff = 500ms;; backoff = std::min<std::chrono::milliseconds>(2 * backoff, 5s)) {
    auto r = step();
    if (r) return std::nullopt;
    if (r.error().code != errc::unavailable || std::chrono::steady_clock::now() > retry_until) {
      log.error("{}", r.error().message);
      return r.error().code == errc::conflict ? 2 : 1;
    }
    log.warn("JetStream is not ready ({}); trying again in {} ms", r.error().message,
             backoff.count());
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(backoff);
    timespec wait{static_cast<time_t>(secs.count()),
                  static_cast<long>(std::chrono::nanoseconds(backoff - secs).count())};
    if (sigtimedwait(&signals, nullptr, &wait) > 0) {
      log.info("stopped before starting");
      return 0;
    }
  }
}

/// `broker.embedded_cpus = "split"`: the embedded server gets the last
/// `eopts.threads` of this process's CPUs (and as many threads), this
/// process the others. Where that cannot be done, both share them, with a
/// warning.
void place_apart(broker::embedded_server_options& eopts, spdlog::logger& log) {
  auto split = take_node_cpus(eopts.threads);
  if (!split)
    return log.warn("broker.embedded_cpus = \"split\" not applied: {}", split.error().message);
  eopts.cpus = split->server;
  eopts.threads = static_cast<int>(split->server.size());
  log.info("node on CPUs {}, its embedded server on CPUs {} (broker.embedded_cpus = \"split\")",
           cpu_list(split->node), cpu_list(split->server));
}

} // namespace

int run_node(const config::loaded_config& loaded) {
  const auto& cfg = loaded.config;
  auto log = log::get("node");
  auto name = cfg.node.name.empty() ? default_node_name() : cfg.node.name;

  auto plan = make_node_plan(loaded, name);
  if (!plan) {
    log->error("{}", plan.error().message);
    return 2;
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Held until the node exits; the node runs without it if it is refused.
  std::optional<cpu_latency_request> cpu_latency;
  if (cfg.node.cpu_latency_us >= 0) {
    auto held = cpu_latency_request::hold(cfg.node.cpu_latency_us);
    if (held) {
      cpu_latency.emplace(std::move(*held));
      log->info("CPUs held to wake within {} us while the node runs (node.cpu_latency_us)",
                cfg.node.cpu_latency_us);
    } else {
      log->warn("node.cpu_latency_us = {} not applied: {}", cfg.node.cpu_latency_us,
                held.error().message);
    }
  }

  std::optional<broker::embedded_server> embedded;
  auto urls = cfg.broker.urls;
  if (urls.empty()) {
    broker::embedded_server_options eopts;
    eopts.data_dir = cfg.node.data_dir + "/nats";
    eopts.port = static_cast<std::uint16_t>(cfg.broker.embedded_port);
    eopts.threads = cfg.broker.embedded_threads > 0 ? cfg.broker.embedded_threads
                                                    : broker::shared_machine_server_threads();
    eopts.gc_percent = cfg.broker.embedded_gc_percent;
    if (cfg.broker.embedded_cpus == "split") place_apart(eopts, *log);
    auto server = broker::embedded_server::start(eopts);
    if (!server) {
      log->error("cannot start the embedded nats-server: {}", server.error().message);
      return 1;
    }
    embedded.emplace(std::move(*server));
    urls = {embedded->url()};
    log->info("no broker.urls configured: started nats-server at {} (store {}, {} thread(s), "
              "GOGC {})",
              urls[0], eopts.data_dir, eopts.threads,
              eopts.gc_percent > 0 ? std::to_string(eopts.gc_percent) : "as inherited");
  } else if (cfg.broker.embedded_cpus == "split") {
    log->warn("broker.embedded_cpus = \"split\" ignored: it places an embedded server, and "
              "broker.urls names the servers to use");
  }
  auto closing = std::make_shared<std::atomic<bool>>(false);
  auto conn = connect_broker(cfg, name, urls, closing);
  if (!conn) {
    log->error("{}", conn.error().message);
    return 1;
  }
  pipeline::layout_options lopts;
  lopts.replicas = cfg.broker.replicas;
  lopts.memory_storage = cfg.broker.storage == "memory";
  lopts.dedup_window = cfg.broker.dedup_window;
  // Long enough that a busy node does not lose its entries (and leases).
  lopts.nodes_ttl = std::max<std::chrono::milliseconds>(3 * cfg.node.heartbeat_interval, 10s);
  if (auto stop = start_step(signals, *log, [&] { return pipeline::ensure_layout(**conn, lopts); }))
    return *stop;
  // Unknown (the broker did not answer): the way that is safe in a cluster.
  auto standalone = pipeline::on_standalone_server(**conn);
  bool in_order = standalone && *standalone;
  log->debug("broker {}: a sole fork is {}", in_order ? "standalone" : "clustered or unknown",
             in_order ? "recorded and queued together" : "queued once its record is stored");
  // From here on log records go to SY_LOGS too (log.publish), through a
  // connection of the publisher's own.
  std::unique_ptr<pipeline::log_publisher> log_publisher;
  if (cfg.log.publish) {
    pipeline::log_publisher_options popts;
    popts.connection.urls = urls;
    popts.connection.name = "switchyard-node " + name + " logs";
    popts.connection.connect_timeout = cfg.broker.connect_timeout;
    popts.node = name;
    auto started = pipeline::log_publisher::start(std::move(popts));
    if (!started) {
      log->error("cannot publish log records: {}", started.error().message);
      return 1;
    }
    log_publisher = std::move(*started);
    log::add_sink(log_publisher->sink());
  }
  auto stop_publishing_logs = [&log_publisher] {
    if (!log_publisher) return;
    log::remove_sink(log_publisher->sink());
    log_publisher.reset();
  };
  struct scope_exit {
    std::function<void()> run;
    ~scope_exit() { run(); }
  } logs_guard{stop_publishing_logs};
  std::shared_ptr<broker::kv_bucket> tasks, binds, nodes, schedules, runs, cancelled;
  auto open_buckets_and_bind = [&]() -> expected<void> {
    for (auto [bucket, slot] : {std::pair{pipeline::tasks_bucket, &tasks},
                                {pipeline::binds_bucket, &binds},
                                {pipeline::nodes_bucket, &nodes},
                                {pipeline::schedules_bucket, &schedules},
                                {pipeline::runs_bucket, &runs},
                                {pipeline::cancelled_bucket, &cancelled}}) {
      auto b = broker::kv_bucket::open(*conn, bucket);
      if (!b) return b.error();
      *slot = std::make_shared<broker::kv_bucket>(std::move(*b));
    }
    return register_binds(**conn, *binds, *plan, cfg);
  };
  if (auto stop = start_step(signals, *log, open_buckets_and_bind)) return *stop;

  auto metrics = std::make_shared<pipeline::metrics>();
  caf::actor_system_config sys_cfg;
  sys_cfg.set("scheduler.max-threads", cfg.node.threads);
  sys_cfg.set("scheduler.policy", caf::atom_from_string(cfg.node.thread_policy));
  int exit_code = 0;
  auto resources = std::make_shared<pipeline::resource_store>(*conn);
  // Each queue's scheduler and ranker. Made once already while planning:
  // failing now is a plugin bug.
  std::vector<std::shared_ptr<scheduler>> orders;
  std::vector<std::shared_ptr<ranker>> ranks;
  for (const auto& c : plan->consumers) {
    auto order = c.make_scheduler();
    auto rank = c.make_ranker();
    if (!order || !rank) {
      log->error("[{}] cannot create the queue's {}: {}", c.bind.identity,
                 order ? "ranker" : "scheduler", (order ? rank.error() : order.error()).message);
      return 1;
    }
    orders.push_back(std::move(*order));
    ranks.push_back(std::move(*rank));
  }
  {
    caf::actor_system sys{sys_cfg};
    auto lookup_tasks = spawn_lookup(sys, *conn, tasks);

    // Per router instance, one actor per priority, each pulling its own
    // durable: high tasks are routed while a low backlog waits.
    constexpr auto n_priorities = std::size(pipeline::priorities);
    std::vector<feed> router_feeds(plan->routers * n_priorities);
    std::vector<router_actor> routers;
    for (std::size_t i = 0; i < router_feeds.size(); ++i) {
      auto& f = router_feeds[i];
      f.delivers = pipeline::priorities[i % n_priorities];
      routers.push_back(spawn_router(
          sys, router_deps{*conn, tasks, metrics, f.pull_credit, lookup_tasks, in_order}));
    }

    // Per identity, one puller per priority, sharing the scheduler's credit.
    std::vector<feed> queue_feeds(plan->consumers.size() * n_priorities);
    std::vector<scheduler_actor> schedulers;
    for (std::size_t i = 0; i < plan->consumers.size(); ++i) {
      const auto& c = plan->consumers[i];
      auto shared = std::make_shared<credit>();
      for (std::size_t j = 0; j < n_priorities; ++j) {
        queue_feeds[i * n_priorities + j].pull_credit = shared;
        queue_feeds[i * n_priorities + j].delivers = pipeline::priorities[j];
      }
      scheduler_deps deps{*conn,
                          tasks,
                          metrics,
                          shared,
                          lookup_tasks,
                          c.make_consumer,
                          orders[i],
                          ranks[i],
                          runs,
                          cancelled,
                          [resources](const resource_ref& ref, const resource_sink& sink) {
                            return resources->read_resource(ref, sink);
                          }};
      schedulers.push_back(spawn_scheduler(sys, deps, c.options));
    }

    // Binds: every router and scheduler learns of every change. Routing
    // starts only once the current binds are known. A watch that does not
    // catch up in time (a loaded cluster) is made again, a few times, before
    // the node gives up.
    auto on_bind = [&, log](const broker::kv_entry& entry) {
      bind_update update{entry.key, nullptr};
      if (entry.operation == broker::kv_operation::put) {
        auto json = value::parse(entry.value, nullptr, false);
        auto compiled = pipeline::compile_bind(json);
        if (!compiled) {
          log->error("ignoring bind {}: {}", entry.key, compiled.error().message);
          return;
        }
        update.bind = std::make_shared<pipeline::compiled_bind>(std::move(*compiled));
      }
      for (auto& r : routers)
        caf::anon_send(r, binds_atom::value, update);
      for (auto& s : schedulers)
        caf::anon_send(s, binds_atom::value, update);
    };
    std::optional<broker::kv_watcher> watcher;
    for (int attempt = 1; exit_code == 0 && !watcher; ++attempt) {
      auto caught_up = std::make_shared<std::promise<void>>();
      auto caught_up_future = caught_up->get_future();
      broker::kv_watch_options wopts;
      wopts.on_caught_up = [caught_up] { caught_up->set_value(); };
      wopts.on_error = [log](const error& e) { log->error("bind watch stopped: {}", e.message); };
      auto made = binds->watch(">", on_bind, wopts);
      if (made &&
          caught_up_future.wait_for(cfg.broker.connect_timeout * 2) == std::future_status::ready) {
        watcher.emplace(std::move(*made));
        break;
      }
      auto why = made ? std::string{"timed out"} : made.error().message;
      if (made) made->stop();
      if (attempt == 5) {
        log->error("cannot read the binds from {}: {}", pipeline::binds_bucket, why);
        exit_code = 1;
      } else {
        log->warn("cannot read the binds from {} ({}); trying again", pipeline::binds_bucket, why);
      }
    }
    // Cancellations of tasks not routed yet: those made earlier reach the
    // routers before their first delivery.
    std::optional<broker::kv_watcher> routing_cancels;
    if (exit_code == 0 && !routers.empty()) {
      auto caught_up = std::make_shared<std::promise<void>>();
      auto caught_up_future = caught_up->get_future();
      auto made =
          follow_routing_cancels(*cancelled, routers, [caught_up] { caught_up->set_value(); });
      auto wait = cfg.broker.connect_timeout * 2;
      if (!made)
        log->warn("cannot follow cancellations in {}: {}; a task cancelled before it was routed "
                  "will be routed",
                  pipeline::cancelled_bucket, made.error().message);
      else if (caught_up_future.wait_for(wait) != std::future_status::ready)
        log->warn("the cancellations in {} were not all read within {} ms; routing starts, and "
                  "a task cancelled before it was routed may be routed meanwhile",
                  pipeline::cancelled_bucket, wait.count());
      if (made) routing_cancels.emplace(std::move(*made));
    }

    auto start_feed = [&](feed& f, broker::pull_options popts, auto target) -> bool {
      popts.on_message = [target](broker::message m) {
        caf::anon_send(target, delivered_atom::value,
                       std::make_shared<broker::message>(std::move(m)));
      };
      popts.on_status = [log, consumer = popts.consumer](const broker::pull_status& s) {
        log->debug("puller {}: status {} {}", consumer, s.code, s.description);
      };
      // Paused until the credit handle knows the puller, so that no message
      // is released before it can be.
      popts.start_paused = true;
      auto puller = broker::pull_consumer::start(*conn, std::move(popts));
      if (!puller) {
        log->error("{}", puller.error().message);
        return false;
      }
      f.puller = std::move(*puller);
      f.pull_credit->attach(f.delivers, f.puller.get());
      f.puller->resume();
      return true;
    };
    for (std::size_t i = 0; exit_code == 0 && i < routers.size(); ++i) {
      auto& f = router_feeds[i];
      if (!start_feed(f, router_pull_options(cfg, f.delivers), routers[i])) exit_code = 1;
    }
    for (std::size_t i = 0; exit_code == 0 && i < queue_feeds.size(); ++i) {
      auto& f = queue_feeds[i];
      auto c = i / n_priorities;
      if (!start_feed(f, queue_pull_options(plan->consumers[c], f.delivers), schedulers[c]))
        exit_code = 1;
    }

    std::optional<housekeeper_actor> keeper;
    if (exit_code == 0 && cfg.housekeeper.enabled) {
      housekeeper_options hopts{name, std::min(cfg.housekeeper.interval, lopts.nodes_ttl / 3),
                                cfg.housekeeper.crashed_ttl, cfg.housekeeper.started_timeout,
                                cfg.housekeeper.bind_offline_ttl};
      hopts.resource_retention = cfg.housekeeper.resource_retention;
      hopts.resource_gc_interval = cfg.housekeeper.resource_gc_interval;
      hopts.events_max_age = lopts.logs_max_age;
      keeper = spawn_housekeeper(
          sys, housekeeper_deps{*conn, tasks, binds, nodes, metrics, schedules}, hopts);
    }

    std::unique_ptr<api_server> api;
    if (exit_code == 0 && !cfg.api.listen.empty()) {
      api_deps adeps{*conn, &sys, {}, name, metrics};
      for (std::size_t i = 0; i < plan->consumers.size(); ++i)
        if (plan->consumers[i].options.external)
          adeps.external.emplace(plan->consumers[i].bind.identity, schedulers[i]);
      auto started = api_server::start(cfg.api, std::move(adeps));
      if (!started) {
        log->error("{}", started.error().message);
        exit_code = started.error().code == errc::config ? 2 : 1;
      } else {
        api = std::move(*started);
      }
    }

    auto started_at = unix_now();
    if (exit_code == 0) {
      log->info("node {} running: {} router(s), consumers [{}]; Ctrl-C stops it", name,
                plan->routers, plan->identities());
      int sig = 0;
      while (sig == 0) {
        auto beat = heartbeat_record(name, *plan, *metrics, started_at).dump();
        nodes->put_async(pipeline::node_key(name), beat, [log](expected<std::uint64_t> r) {
          if (!r) log->warn("heartbeat not stored: {}", r.error().message);
        });
        sig = wait_signal(signals, cfg.node.heartbeat_interval);
      }
      log->info("signal {}: stopping; in-flight tasks get up to {} ms (signal again to stop at "
                "once)",
                sig, cfg.node.shutdown_grace.count());
    }

    // Graceful stop: no more HTTP requests and no new deliveries, then let
    // the schedulers finish.
    api.reset();
    for (auto& f : router_feeds)
      f.stop();
    for (auto& f : queue_feeds)
      f.stop();
    std::atomic<bool> stopped{false};
    std::atomic<bool> handed_back{false};
    std::thread second_signal([&] {
      while (!stopped) {
        if (wait_signal(signals, 100ms) != 0) {
          log->warn("second signal: handing in-flight tasks back now");
          handed_back = true;
          for (auto& s : schedulers)
            caf::anon_send(s, stop_atom::value, true);
          return;
        }
      }
    });
    {
      caf::scoped_actor self{sys};
      for (auto& s : schedulers) {
        self->request(s, cfg.node.shutdown_grace + 1s, stop_atom::value, false)
            .receive([](stopped_atom) {},
                     [&](const caf::error&) {
                       log->warn("grace period over: handing in-flight tasks back");
                       handed_back = true;
                       self->request(s, 5s, stop_atom::value, true)
                           .receive([](stopped_atom) {}, [](const caf::error&) {});
                     });
      }
    }
    stopped = true;
    second_signal.join();
    // Let routing and commit callbacks still under way reach the broker.
    for (int i = 0; i < 50 && (*conn)->pending_publishes() > 0; ++i)
      std::this_thread::sleep_for(100ms);
    (void)(*conn)->flush(2s);
    (void)nodes->erase(pipeline::node_key(name));
    if (watcher) watcher->stop();
    if (routing_cancels) routing_cancels->stop();
    for (auto& r : routers)
      caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
    for (auto& s : schedulers)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(lookup_tasks, caf::exit_reason::user_shutdown);
    if (keeper) {
      caf::anon_send_exit(*keeper, caf::exit_reason::user_shutdown);
      release_housekeeper_lease(*nodes, name);
    }
    if (handed_back) {
      // Consumer code may still run on worker threads, and the actor system
      // would wait for it: every task it holds is already handed back, so
      // leave now.
      log->info("node {} stopped; consumer code still running was abandoned", name);
      stop_publishing_logs();
      *closing = true;
      if (embedded) embedded->stop();
      spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
      std::_Exit(exit_code);
    }
  }
  log->info("node {} stopped", name);
  stop_publishing_logs();
  *closing = true;
  return exit_code;
}

} // namespace sy::actors
