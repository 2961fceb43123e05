// `switchyard simulate SCENARIO.toml`: a scripted run with real processes
// (docs/SIMULATION.md). nats-server(s) and `switchyard node` children are
// started from the scenario, producers in this process send root tasks at
// their rates, faults happen on the timeline, and every analysis event is
// read back from SY_EVENTS. A root is lost when it was accepted (its send
// was confirmed) and its analysis was never announced within the drain
// timeout.

#include "runtime/broker/embedded_server.hpp"
#include "runtime/broker/stream_spec.hpp"
#include "runtime/cli/child_process.hpp"
#include "runtime/cli/command.hpp"
#include "runtime/ops/queues.hpp"
#include "runtime/pipeline/analysis_events.hpp"
#include "runtime/pipeline/keepers.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/pipeline/live_nodes.hpp"
#include "runtime/pipeline/producer.hpp"
#include "runtime/sim/report.hpp"

#include <atomic>
#include <csignal>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unistd.h>

namespace sy::cli {

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct simulate_options {
  std::string scenario;
  std::string json_path;
  std::string plot_path;
  bool quiet = false;
};

/// The nats-server processes of a run: one, or a cluster of three.
class brokers {
public:
  brokers(const std::string& dir, bool cluster) {
    int n = cluster ? 3 : 1;
    std::vector<int> client, route;
    for (int i = 0; i < n; ++i) {
      client.push_back(broker::free_loopback_port());
      route.push_back(broker::free_loopback_port());
    }
    for (int i = 0; i < n; ++i) {
      auto name = "s" + std::to_string(i + 1);
      auto conf = dir + "/" + name + ".conf";
      std::ofstream out{conf};
      out << "server_name: \"" << name << "\"\nlisten: \"127.0.0.1:" << client[i] << "\"\n"
          << "jetstream { store_dir: \"" << dir << "/" << name << "\" }\n";
      if (cluster) {
        out << "cluster {\n  name: \"sim\"\n  listen: \"127.0.0.1:" << route[i]
            << "\"\n  routes: [";
        for (int j = 0; j < n; ++j)
          out << (j ? ", " : "") << "\"nats://127.0.0.1:" << route[j] << "\"";
        out << "]\n}\n";
      }
      urls_.push_back("nats://127.0.0.1:" + std::to_string(client[i]));
      servers_.push_back(std::make_unique<child_process>(
          std::vector<std::string>{"nats-server", "-c", conf}, dir + "/" + name + ".log"));
    }
  }

  expected<void> start(int i) {
    auto& s = *servers_.at(static_cast<std::size_t>(i));
    if (auto r = s.start(); !r) return r;
    return s.wait_for("Server is ready", 30s);
  }

  void stop(int i) { servers_.at(static_cast<std::size_t>(i))->stop(10s); }

  const std::vector<std::string>& urls() const { return urls_; }

private:
  std::vector<std::string> urls_;
  std::vector<std::unique_ptr<child_process>> servers_;
};

/// What every thread of the run shares.
struct run_state {
  clock_type::time_point start = clock_type::now();
  std::mutex mutex;
  std::vector<sim::root_record> roots;
  std::map<std::string, std::size_t> index;            // uid → roots
  std::map<std::string, std::set<std::string>> listed; // root → task uids announced
  std::atomic<std::uint64_t> completed{0};
  std::atomic<std::uint64_t> unconfirmed{0};
  std::atomic<std::uint64_t> refused{0};

  double now() const { return std::chrono::duration<double>(clock_type::now() - start).count(); }

  void on_event(const value& event) {
    auto root = event.value("root_uid", "");
    std::lock_guard<std::mutex> guard{mutex};
    auto i = index.find(root);
    if (i == index.end()) return;
    auto& r = roots[i->second];
    auto& seen = listed[root];
    int finished = 0, crashed = 0;
    for (const auto& t : event.value("tasks", value::array())) {
      auto uid = t.value("uid", "");
      if (!seen.insert(uid).second) ++r.repeated_tasks;
      (t.value("status", "") == "Crashed" ? crashed : finished)++;
    }
    if (++r.announcements > 1) return;
    r.done = now();
    r.finished = finished;
    r.crashed = crashed;
    ++completed;
  }
};

/// Sends one producer's roots at its rate; blocks until it is done.
void produce(run_state& st, pipeline::producer& producer, const sim::producer_spec& p,
             std::size_t index, const std::atomic<bool>& stopping) {
  std::mt19937_64 rng{0x5eed + index};
  std::vector<double> weights;
  for (const auto& c : p.mix)
    weights.push_back(c.weight);
  std::discrete_distribution<std::size_t> pick_headers{weights.begin(), weights.end()};
  std::discrete_distribution<int> pick_priority{std::begin(p.priority_weights),
                                                std::end(p.priority_weights)};
  std::this_thread::sleep_until(st.start + p.start);
  auto began = clock_type::now();
  auto interval = std::chrono::duration<double>(1.0 / p.rate);
  for (long n = 0; !stopping && (p.count == 0 || n < p.count); ++n) {
    auto due = began + std::chrono::duration_cast<clock_type::duration>(interval * n);
    if (p.duration.count() > 0 && due - began >= p.duration) break;
    std::this_thread::sleep_until(due);
    // Back-pressure from the broker: at most 2,000 sends unconfirmed.
    while (st.unconfirmed > 2000 && !stopping)
      std::this_thread::sleep_for(1ms);
    auto prio = static_cast<priority>(pick_priority(rng));
    // Distinct roots, as distinct samples are: a scheduler that removes
    // duplicates by content must not merge them.
    auto payload = p.payload;
    payload["sim_seq"] = std::to_string(index) + "." + std::to_string(n);
    auto t = make_task(p.mix[pick_headers(rng)].headers, std::move(payload), prio);
    sim::root_record r;
    r.uid = t.uid;
    r.prio = prio;
    r.producer = index;
    ++st.unconfirmed;
    r.sent = st.now();
    producer.send_async(std::move(t), [&st, r](expected<std::string> sent) mutable {
      --st.unconfirmed;
      if (!sent) { // not accepted: it cannot be lost, it was never taken
        ++st.refused;
        return;
      }
      std::lock_guard<std::mutex> guard{st.mutex};
      st.index[r.uid] = st.roots.size();
      st.roots.push_back(std::move(r));
    });
  }
}

/// Tasks per identity token in SY_QUEUES and in SY_UNROUTED ("(routing)").
std::map<std::string, std::uint64_t> queue_depth(broker::connection& conn) {
  std::map<std::string, std::uint64_t> out;
  if (auto counts =
          broker::subject_counts(conn, pipeline::queues_stream, pipeline::all_queues_filter)) {
    for (const auto& [subject, n] : *counts)
      if (auto token = pipeline::queue_token_of(subject); !token.empty())
        out[std::string{token}] += n;
  }
  if (auto unrouted = pipeline::stored_tasks(conn, pipeline::unrouted_stream))
    out["(routing)"] = *unrouted;
  return out;
}

/// Identity metrics summed over every node instance seen during the run
/// (the last heartbeat of each; a restarted node is a new instance).
class metrics_collector {
public:
  void observe(broker::kv_bucket& nodes) {
    auto live = pipeline::read_live_nodes(nodes);
    if (!live) return;
    for (const auto& n : *live)
      last_[n.name + "@" + n.record.value("started_at", value(0)).dump()] =
          n.record.value("metrics", value::object()).value("identities", value::object());
  }

  value summed() const {
    value out = value::object();
    for (const auto& [_, identities] : last_)
      for (const auto& [identity, m] : identities.items()) {
        auto& sum = out[identity];
        if (!sum.is_object()) sum = value::object();
        ops::add_counters(sum, m);
      }
    return out;
  }

private:
  std::map<std::string, value> last_;
};

expected<void> apply_fault(const sim::fault_spec& f, std::map<std::string, child_process>& nodes,
                           brokers& servers) {
  switch (f.action) {
  case sim::fault_action::kill:
    nodes.at(f.node).kill();
    return {};
  case sim::fault_action::restart:
    nodes.at(f.node).kill();
    return nodes.at(f.node).start();
  case sim::fault_action::pause:
    nodes.at(f.node).signal(SIGSTOP);
    return {};
  case sim::fault_action::resume:
    nodes.at(f.node).signal(SIGCONT);
    return {};
  case sim::fault_action::stop_broker:
    servers.stop(f.server - 1);
    return {};
  case sim::fault_action::start_broker:
    return servers.start(f.server - 1);
  }
  return {};
}

std::string fault_label(const sim::fault_spec& f) {
  auto label = std::string{to_string(f.action)};
  return label + " " + (f.node.empty() ? "server " + std::to_string(f.server) : f.node);
}

void print_summary(const value& r, std::uint64_t refused) {
  auto line = [](const char* label) -> std::ostream& {
    return std::cout << std::left << std::setw(22) << label;
  };
  std::cout << std::fixed << std::setprecision(1);
  line("scenario") << r["scenario"].get<std::string>() << '\n';
  line("roots sent") << r["sent"] << " accepted (" << refused << " refused by the broker)\n";
  line("analyses completed") << r["completed"] << '\n';
  line("lost") << r["lost"] << '\n';
  line("tasks finished") << r["tasks_finished"] << ", crashed " << r["tasks_crashed"] << '\n';
  line("announced again") << r["roots_announced_again"] << " roots, " << r["tasks_listed_twice"]
                          << " tasks listed twice\n";
  line("throughput") << r["throughput_per_s"].get<double>() << " analyses/s\n";
  const auto& l = r["latency"];
  line("end-to-end latency") << "p50 " << l["p50_ms"].get<double>() << " ms, p90 "
                             << l["p90_ms"].get<double>() << " ms, p99 "
                             << l["p99_ms"].get<double>() << " ms, max "
                             << l["max_ms"].get<double>() << " ms\n";
  for (const auto& [prio, p] : r["latency_by_priority"].items())
    line(("  " + prio).c_str()) << p["count"] << " roots, p50 " << p["p50_ms"].get<double>()
                                << " ms, p99 " << p["p99_ms"].get<double>() << " ms\n";
  line("priority inversions") << r["priority_inversions"] << '\n';
  for (const auto& [identity, m] : r["identities"].items()) {
    auto at_most = [](const value& v) { return v.is_null() ? std::string{"-"} : v.dump(); };
    line(("  " + identity).c_str())
        << m["finished"] << " finished, " << m["crashed"]
        << " crashed; queue wait p50 <= " << at_most(m["queue_wait"]["p50_ms_at_most"])
        << " ms, p99 <= " << at_most(m["queue_wait"]["p99_ms_at_most"]) << " ms\n";
  }
  for (const auto& f : r["faults"])
    line("fault") << f["t"].get<double>() << " s: " << f["fault"].get<std::string>() << '\n';
}

int run_simulate(const simulate_options& opts) {
  auto loaded = sim::load_scenario(opts.scenario);
  if (!loaded) return usage_error(loaded.error().message);
  const auto& sc = *loaded;
  if (sc.storage == "memory")
    for (const auto& f : sc.faults)
      if (f.action == sim::fault_action::stop_broker)
        return usage_error(opts.scenario + ": stop_broker with storage = \"memory\" loses every "
                                           "stream; use storage = \"file\"");
  auto fail = [](const std::string& what) {
    std::cerr << "switchyard: simulate: " << what << '\n';
    return exit_usage;
  };
  temp_dir dir{"sy-sim-"};
  if (dir.path.empty()) return fail("cannot create a temp directory under /tmp");
  bool cluster = sc.broker == "cluster";
  brokers servers{dir.path, cluster};
  for (int i = 0; i < (cluster ? 3 : 1); ++i)
    if (auto r = servers.start(i); !r) return fail("nats-server: " + r.error().message);

  broker::connection_options copts;
  copts.urls = servers.urls();
  copts.name = "switchyard simulate";
  auto conn = broker::connection::connect(copts);
  if (!conn) return fail(conn.error().message);
  pipeline::layout_options lopts;
  lopts.replicas = cluster ? 3 : 1;
  lopts.memory_storage = sc.storage == "memory";
  for (int attempt = 0;; ++attempt) { // a cluster elects its leader first
    auto r = pipeline::ensure_layout(**conn, lopts);
    if (r) break;
    if (attempt == 120) return fail("creating the streams: " + r.error().message);
    std::this_thread::sleep_for(500ms);
  }

  std::string urls;
  for (const auto& u : servers.urls())
    urls += (urls.empty() ? "\"" : ", \"") + u + "\"";
  std::map<std::string, child_process> nodes;
  for (const auto& n : sc.nodes) {
    auto config = dir.path + "/" + n.name + ".toml";
    std::ofstream{config} << "[node]\nname = \"" << n.name << "\"\ndata_dir = \"" << dir.path << "/"
                          << n.name << "\"\nheartbeat_interval = \"1s\"\n"
                          << "shutdown_grace = \"10s\"\n[broker]\nurls = [" << urls
                          << "]\nreplicas = " << lopts.replicas << "\nstorage = \"" << sc.storage
                          << "\"\nack_wait = \"10s\"\n"
                          << n.config << '\n';
    auto [i, _] =
        nodes.emplace(std::piecewise_construct, std::forward_as_tuple(n.name),
                      std::forward_as_tuple(node_argv(config), dir.path + "/" + n.name + ".log"));
    if (auto r = i->second.start(); !r) return fail(r.error().message);
  }
  for (auto& [name, node] : nodes)
    if (auto r = node.wait_running(60s); !r) return fail("node " + name + ": " + r.error().message);

  auto state = std::make_shared<run_state>();
  auto events =
      pipeline::follow_analysis_events(*conn, "simulate-events", [state](const broker::message& m) {
        state->on_event(value::parse(m.data(), nullptr, false));
      });
  if (!events) return fail(events.error().message);
  auto producer = pipeline::producer::open(*conn);
  if (!producer) return fail(producer.error().message);
  auto nodes_bucket = broker::kv_bucket::open(*conn, pipeline::nodes_bucket);
  if (!nodes_bucket) return fail(nodes_bucket.error().message);

  // Production starts now: every time below is relative to this.
  state->start = clock_type::now();
  std::atomic<bool> stopping{false};
  std::atomic<int> producing{static_cast<int>(sc.producers.size())};
  std::vector<std::thread> producers;
  for (std::size_t i = 0; i < sc.producers.size(); ++i)
    producers.emplace_back([&, i] {
      produce(*state, *producer, sc.producers[i], i, stopping);
      --producing;
    });

  // Samples come from their own thread: a broker request that waits out
  // its timeout (the broker is down, a cluster elects) must not delay a
  // fault of the timeline.
  std::vector<sim::sample> samples;
  std::mutex samples_mutex;
  metrics_collector collected;
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    auto interval = std::chrono::duration<double>(sc.sample_interval).count();
    for (double next = 0; sampling; next += interval) {
      while (sampling && state->now() < next)
        std::this_thread::sleep_for(10ms);
      next = std::max(next, state->now());
      sim::sample p;
      p.t = state->now();
      {
        std::lock_guard<std::mutex> guard{state->mutex};
        p.sent = state->roots.size();
      }
      p.completed = state->completed;
      if ((*conn)->is_connected()) {
        p.depth = queue_depth(**conn);
        collected.observe(*nodes_bucket);
      }
      std::uint64_t queued = 0;
      for (const auto& [_, n] : p.depth)
        queued += n;
      if (!opts.quiet)
        std::cerr << std::fixed << std::setprecision(1) << p.t << " s  sent " << p.sent
                  << "  completed " << p.completed << "  queued " << queued
                  << ((*conn)->is_connected() ? "" : "  (broker unreachable)") << '\n';
      std::lock_guard<std::mutex> guard{samples_mutex};
      samples.push_back(std::move(p));
    }
  });
  std::vector<sim::fault_mark> marks;
  auto faults = sc.faults;
  std::stable_sort(faults.begin(), faults.end(),
                   [](const auto& a, const auto& b) { return a.at < b.at; });
  std::size_t next_fault = 0;
  double producing_ended = -1, drain_deadline = 0;
  int exit_code = exit_ok;
  for (;;) {
    auto now = state->now();
    while (next_fault < faults.size() &&
           now >= std::chrono::duration<double>(faults[next_fault].at).count()) {
      const auto& f = faults[next_fault++];
      auto label = fault_label(f);
      if (auto r = apply_fault(f, nodes, servers); !r)
        std::cerr << "switchyard: simulate: fault \"" << label << "\" failed: " << r.error().message
                  << '\n';
      marks.push_back({state->now(), label});
      if (!opts.quiet)
        std::cerr << std::fixed << std::setprecision(1) << now << " s  fault: " << label << '\n';
    }
    if (producing == 0 && producing_ended < 0 && state->unconfirmed == 0) {
      producing_ended = now;
      drain_deadline = now + std::chrono::duration<double>(sc.drain_timeout).count();
    }
    if (producing_ended >= 0 && next_fault == faults.size()) {
      std::lock_guard<std::mutex> guard{state->mutex};
      if (state->completed == state->roots.size()) break;
    }
    if (producing_ended >= 0 && now > drain_deadline) break;
    std::this_thread::sleep_for(20ms);
  }
  stopping = true;
  for (auto& t : producers)
    t.join();
  sampling = false;
  sampler.join();
  // A last sample and the nodes' last counters.
  std::this_thread::sleep_for(1500ms);
  collected.observe(*nodes_bucket);
  sim::sample last;
  last.t = state->now();
  last.sent = state->roots.size();
  last.completed = state->completed;
  last.depth = queue_depth(**conn);
  samples.push_back(std::move(last));
  (void)(*events)->stop(5s);

  std::vector<sim::root_record> roots;
  {
    std::lock_guard<std::mutex> guard{state->mutex};
    roots = state->roots;
  }
  std::sort(roots.begin(), roots.end(),
            [](const auto& a, const auto& b) { return a.sent < b.sent; });
  auto report = sim::make_report(sc, roots, samples, marks, collected.summed(), producing_ended);
  report["refused"] = state->refused.load();
  report["broker"] = sc.broker;
  report["nodes"] = sc.nodes.size();
  for (auto& [name, node] : nodes)
    if (node.stop(30s) != 0 && !opts.quiet)
      std::cerr << "switchyard: simulate: node " << name << " did not stop cleanly; its log:\n"
                << node.log_text().substr(
                       node.log_text().size() > 4000 ? node.log_text().size() - 4000 : 0);
  print_summary(report, state->refused);
  if (!opts.json_path.empty()) std::ofstream{opts.json_path} << report.dump(2) << '\n';
  if (!opts.plot_path.empty())
    std::ofstream{opts.plot_path} << sim::render_svg(sc.name, samples, marks);
  if (report["lost"].get<std::uint64_t>() > 0) {
    std::cerr << "switchyard: simulate: " << report["lost"]
              << " accepted root(s) never completed\n";
    exit_code = exit_negative;
  }
  return exit_code;
}

} // namespace

void add_simulate_command(CLI::App& app, int& result) {
  auto opts = std::make_shared<simulate_options>();
  auto cmd = app.add_subcommand(
      "simulate", "Run a scenario with real processes (nats-servers, nodes, producers, faults) "
                  "and report what happened; exit 1 if an accepted task was lost "
                  "(docs/SIMULATION.md)");
  cmd->add_option("scenario", opts->scenario, "Scenario file (config/scenarios/*.toml)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--json", opts->json_path, "Write the full report as JSON to this file");
  cmd->add_option("--plot", opts->plot_path,
                  "Write queue depth and throughput over time, faults marked, as SVG");
  cmd->add_flag("--quiet", opts->quiet, "No progress lines on stderr");
  cmd->callback([opts, &result] { result = run_simulate(*opts); });
}

} // namespace sy::cli
