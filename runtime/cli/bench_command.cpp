// `switchyard bench`: the four Karton-comparable scenarios, end to end, on a
// fresh embedded nats-server (file storage) and one `switchyard node` child
// with the housekeeper on (full state tracking). docs/BENCHMARKS.md explains
// the figures and records measured runs.
//
// What is measured, per root task:
//   send time    just before `producer::send_async` is called;
//   arrival time when this process has received, from SY_EVENTS, analysis
//                events of the root that together list every expected routed
//                task Finished (1 route, 3 fanout, 2 chain); normally that is
//                the root's one analysis event.
// latency = arrival - send: full analysis completion latency, including the
// publish, routing, the worker(s), the terminal records and the
// housekeeper's announcement.
// throughput = completed roots / (last arrival - first send).
// lost: not every expected task listed Finished within --timeout after the
// last send. duplicates: more Finished tasks than expected, a task listed by
// two events, or an event after completion. premature: the analysis was
// announced by an event listing fewer Finished tasks than expected (it was
// split into several announcements, or the rest never came).

#include "runtime/broker/consumer_spec.hpp"
#include "runtime/broker/pull_consumer.hpp"
#include "runtime/cli/bench_api.hpp"
#include "runtime/cli/bench_resource.hpp"
#include "runtime/cli/bench_rig.hpp"
#include "runtime/cli/bench_scheduler.hpp"
#include "runtime/cli/command.hpp"
#include "runtime/core/cpu_latency.hpp"
#include "runtime/pipeline/analysis_events.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/pipeline/producer.hpp"
#include "runtime/sim/report.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace sy::cli {

namespace {

using clock_type = std::chrono::steady_clock;

struct bench_options {
  std::string scenario;
  /// Root tasks to send; -1: 10000 (200 for latency).
  int tasks = -1;
  /// Most sends waiting for their confirmation (throughput scenarios).
  int in_flight = 2000;
  /// Roots sent per second at most (throughput scenarios); 0: as fast as
  /// confirmations allow.
  int rate = 0;
  /// Workers per consumer identity in the node.
  int concurrency = 4;
  /// Router actors in the node.
  int routers = 1;
  /// After the last send, how long to wait for the remaining events.
  int timeout_seconds = 60;
  /// Scheduler and ranker plugin of every consumer identity.
  std::string scheduler = "sy.schedulers.fifo";
  std::string ranker = "sy.rankers.priority";
  /// The node's `node.cpu_latency_us`; -1: not set.
  int cpu_latency_us = -1;
  /// The server on cores of its own, the bench and the node on the others.
  bool split_cpus = false;
  /// Analyses whose one task crashes, run before the measured ones: their
  /// Crashed records stay in `sy_tasks` (`crashed_ttl`), ahead of every
  /// record of the run, as in a deployment with tasks waiting for a retry.
  int crashed = 0;
  bool json = false;
};

/// A scenario: the node's consumers, the root headers, and how many routed
/// tasks of each analysis must finish.
struct scenario {
  std::string consumers_toml;
  int expected_finished = 1;
  bool one_at_a_time = false;
};

std::optional<scenario> make_scenario(const bench_options& opts) {
  auto consumer_toml = [&](const std::string& identity, const std::string& plugin,
                           const std::string& filters, const std::string& config = "{}") {
    return "[[consumer]]\nidentity = \"" + identity + "\"\nplugin = \"" + plugin +
           "\"\nfilters = " + filters + "\nconcurrency = " + std::to_string(opts.concurrency) +
           "\nconfig = " + config + "\nscheduler = { name = \"" + opts.scheduler +
           "\" }\nranker = { name = \"" + opts.ranker + "\" }\n";
  };
  const auto& name = opts.scenario;
  const std::string roots = "[ { stage = \"a\" } ]";
  scenario s;
  if (name == "route" || name == "latency") {
    s.consumers_toml = consumer_toml("bench-noop", "sy.consumers.noop", roots);
    s.one_at_a_time = name == "latency";
  } else if (name == "fanout") {
    for (const char* id : {"bench-fan-1", "bench-fan-2", "bench-fan-3"})
      s.consumers_toml += consumer_toml(id, "sy.consumers.noop", roots);
    s.expected_finished = 3;
  } else if (name == "chain") {
    s.consumers_toml = consumer_toml("bench-a", "sy.consumers.synthetic", roots,
                                     "{ emit = [ { stage = \"b\" } ] }") +
                       consumer_toml("bench-b", "sy.consumers.noop", "[ { stage = \"b\" } ]");
    s.expected_finished = 2;
  } else {
    return std::nullopt;
  }
  if (opts.crashed > 0)
    s.consumers_toml += consumer_toml("bench-crash", "sy.consumers.synthetic",
                                      "[ { stage = \"crash\" } ]", "{ crash_probability = 1.0 }");
  return s;
}

/// Per root: when it was sent and what its analysis events said.
struct root_record {
  clock_type::time_point sent;
  /// When the events received so far first listed every expected routed
  /// task Finished (normally the arrival of the one complete event).
  clock_type::time_point arrived;
  int events = 0;
  /// Routed tasks listed Finished, over all events of the root.
  std::set<std::string> finished;
  bool complete = false;
  /// An event was short of the expected Finished tasks when it came.
  bool premature = false;
  /// A task was listed Finished by two events, or the root was announced
  /// again once complete.
  bool repeated = false;
  /// The events as received, kept to report anomalies (at most 3 per root).
  std::vector<std::string> texts;
};

/// Everything the sender and the event feed share.
struct bench_state {
  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, root_record> roots;
  /// Routed tasks each analysis must show Finished.
  int expected_finished = 1;
  std::size_t announced = 0; // roots with at least one complete event
  int in_flight = 0;
  std::size_t send_errors = 0;
  std::string first_send_error;
};

/// Sends `n` analyses to the scenario's crashing identity and waits until
/// each was announced (as crashed), so that their records stay ahead of the
/// measured ones (`--crashed`).
expected<void> crash_analyses(pipeline::producer& producer, bench_state& state, int n) {
  std::vector<std::string> roots;
  for (int i = 0; i < n; ++i) {
    auto root = producer.send(make_task(value{{"stage", "crash"}, {"n", i}}));
    if (!root) return make_error(root.error().code, "--crashed: " + root.error().message);
    roots.push_back(std::move(*root));
  }
  std::unique_lock<std::mutex> lock{state.mutex};
  auto announced = state.changed.wait_for(lock, std::chrono::seconds{60}, [&] {
    return std::all_of(roots.begin(), roots.end(),
                       [&](const auto& root) { return state.roots[root].events > 0; });
  });
  if (!announced)
    return make_error(errc::unavailable,
                      "--crashed: not every crashed analysis was announced within 60 s");
  for (const auto& root : roots)
    state.roots.erase(root);
  return {};
}

/// CPU seconds (user + system) a process used so far; -1 if unreadable.
double process_cpu_seconds(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields{text.substr(close + 2)};
  std::string f;
  unsigned long long utime = 0, stime = 0;
  // Fields after the command: state(3) ... utime(14) stime(15).
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stoull(f);
    if (i == 15) stime = std::stoull(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double self_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double ms_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

int run_bench(const bench_options& opts) {
  if ((opts.split_cpus || opts.cpu_latency_us >= 0 || opts.rate > 0 || opts.crashed > 0) &&
      (opts.scenario == "scheduler" || opts.scenario == "resource" || opts.scenario == "api"))
    return usage_error("--split-cpus, --cpu-latency-us, --rate and --crashed are for the route, "
                       "fanout, chain and latency scenarios");
  if (opts.scenario == "scheduler") return run_scheduler_bench(opts.tasks, opts.json);
  if (opts.scenario == "resource") return run_resource_bench(opts.tasks, opts.json);
  if (opts.scenario == "api") return run_api_bench(opts.tasks, opts.concurrency, opts.json);
  auto sc = make_scenario(opts);
  if (!sc)
    return usage_error("--scenario: unknown scenario \"" + opts.scenario +
                       "\" (known: route, fanout, chain, latency, scheduler, resource, api)");
  int tasks = opts.tasks >= 0 ? opts.tasks : (sc->one_at_a_time ? 200 : 10000);
  if (tasks <= 0) return usage_error("--tasks must be positive");
  auto fail = [](const std::string& what) {
    std::cerr << "switchyard: bench: " << what << '\n';
    return exit_negative;
  };

  std::ostringstream toml;
  toml << "[log]\nlevel = \"warn\"\nlevels = { node = \"info\" }\n"
       << "[router]\ninstances = " << opts.routers << "\n"
       << "[housekeeper]\nenabled = true\n\n"
       << sc->consumers_toml;
  auto node_keys = opts.cpu_latency_us >= 0
                       ? "cpu_latency_us = " + std::to_string(opts.cpu_latency_us) + "\n"
                       : std::string{};
  auto rig = bench_rig::start("bench", toml.str(), node_keys, opts.split_cpus);
  if (!rig) return fail(rig.error().message);
  if (opts.cpu_latency_us >= 0) {
    // The node holds it; a refusal is in its log, and the run is not what
    // was asked for.
    auto in_force = cpu_latency_request::current();
    if (!in_force || *in_force > opts.cpu_latency_us)
      return fail(
          "the node could not hold node.cpu_latency_us = " + std::to_string(opts.cpu_latency_us) +
          " (see its log: " + (*rig)->node->log_text() + ")");
  }
  auto& server = (*rig)->server;
  auto& node = *(*rig)->node;

  broker::connection_options copts;
  copts.urls = {server->url()};
  copts.name = "switchyard bench";
  auto conn = broker::connection::connect(copts);
  if (!conn) return fail(conn.error().message);

  auto state = std::make_shared<bench_state>();
  state->expected_finished = sc->expected_finished;
  auto feed =
      pipeline::follow_analysis_events(*conn, "bench-events", [state](const broker::message& m) {
        auto now = clock_type::now();
        auto v = value::parse(m.data(), nullptr, false);
        if (!v.is_object()) return;
        std::vector<std::string> finished;
        for (const auto& t : v.value("tasks", value::array()))
          if (t.value("status", "") == "Finished") finished.push_back(t.value("uid", ""));
        std::lock_guard<std::mutex> guard{state->mutex};
        auto& rec = state->roots[v.value("root_uid", "")];
        if (rec.texts.size() < 3) rec.texts.emplace_back(m.data());
        ++rec.events;
        if (rec.complete) rec.repeated = true;
        for (auto& uid : finished)
          if (!rec.finished.insert(std::move(uid)).second) rec.repeated = true;
        if (!rec.complete && static_cast<int>(finished.size()) < state->expected_finished)
          rec.premature = true;
        if (!rec.complete && static_cast<int>(rec.finished.size()) >= state->expected_finished) {
          rec.complete = true;
          rec.arrived = now;
          ++state->announced;
        }
        state->changed.notify_all();
      });
  if (!feed) return fail(feed.error().message);
  auto producer = pipeline::producer::open(*conn);
  if (!producer) return fail(producer.error().message);
  if (auto r = crash_analyses(*producer, *state, opts.crashed); !r) return fail(r.error().message);

  auto cpu_node0 = process_cpu_seconds(node.pid());
  auto cpu_server0 = process_cpu_seconds(server->pid());
  auto cpu_self0 = self_cpu_seconds();

  std::vector<std::string> order;
  order.reserve(static_cast<std::size_t>(tasks));
  clock_type::time_point first_send;
  clock_type::time_point last_send;
  auto send_one = [&] {
    // Distinct tasks, as distinct samples would be: a deduplicating
    // scheduler must not collapse them.
    auto t = make_task(value{{"stage", "a"}, {"n", order.size()}});
    auto root = t.root_uid;
    order.push_back(root);
    {
      std::lock_guard<std::mutex> guard{state->mutex};
      ++state->in_flight;
      state->roots[root].sent = clock_type::now();
    }
    producer->send_async(std::move(t), [state](expected<std::string> r) {
      std::lock_guard<std::mutex> guard{state->mutex};
      --state->in_flight;
      if (!r && state->send_errors++ == 0) state->first_send_error = r.error().message;
      state->changed.notify_all();
    });
  };

  first_send = clock_type::now();
  if (sc->one_at_a_time) {
    // Idle round trips: the next task is sent once the previous analysis was
    // announced (or given up on after 10 s).
    for (int i = 0; i < tasks; ++i) {
      send_one();
      std::unique_lock<std::mutex> lock{state->mutex};
      const auto& root = order.back();
      state->changed.wait_for(lock, std::chrono::seconds{10},
                              [&] { return state->roots[root].complete; });
    }
    last_send = clock_type::now();
  } else {
    for (int i = 0; i < tasks; ++i) {
      if (opts.rate > 0)
        std::this_thread::sleep_until(
            first_send +
            std::chrono::microseconds{static_cast<long long>(i) * 1000000 / opts.rate});
      {
        std::unique_lock<std::mutex> lock{state->mutex};
        state->changed.wait(lock, [&] { return state->in_flight < opts.in_flight; });
      }
      send_one();
    }
    last_send = clock_type::now();
  }
  {
    std::unique_lock<std::mutex> lock{state->mutex};
    state->changed.wait_until(lock, last_send + std::chrono::seconds{opts.timeout_seconds}, [&] {
      return state->in_flight == 0 && state->announced >= order.size();
    });
  }
  auto cpu_node = process_cpu_seconds(node.pid()) - cpu_node0;
  auto cpu_server = process_cpu_seconds(server->pid()) - cpu_server0;
  auto cpu_self = self_cpu_seconds() - cpu_self0;

  // Results, taken under the lock: late events may still arrive.
  std::vector<double> latencies;
  std::size_t lost = 0;
  std::size_t duplicates = 0;
  std::size_t premature = 0;
  std::size_t send_errors = 0;
  std::string first_send_error;
  std::vector<std::string> anomalies; // the first few lost or duplicated roots, for stderr
  clock_type::time_point last_event = first_send;
  {
    std::lock_guard<std::mutex> guard{state->mutex};
    send_errors = state->send_errors;
    first_send_error = state->first_send_error;
    for (const auto& root : order) {
      const auto& rec = state->roots[root];
      bool is_lost = !rec.complete;
      bool is_dup = rec.repeated || static_cast<int>(rec.finished.size()) > sc->expected_finished;
      if ((is_lost || is_dup || rec.premature) && anomalies.size() < 5) {
        std::string text = "root " + root + ": " + std::to_string(rec.events) + " event(s)";
        for (const auto& t : rec.texts)
          text += "\n  " + t;
        anomalies.push_back(std::move(text));
      }
      if (is_dup) ++duplicates;
      if (rec.premature) ++premature;
      if (is_lost) {
        ++lost;
        continue;
      }
      latencies.push_back(ms_between(rec.sent, rec.arrived));
      last_event = std::max(last_event, rec.arrived);
    }
  }
  std::sort(latencies.begin(), latencies.end());
  double seconds = ms_between(first_send, last_event) / 1000.0;
  double per_s = seconds > 0 ? static_cast<double>(latencies.size()) / seconds : 0;
  double p50 = sim::percentile(latencies, 0.50);
  double p99 = sim::percentile(latencies, 0.99);

  (void)(*feed)->stop(std::chrono::seconds{5});
  feed->reset();
  int node_exit = node.stop(std::chrono::seconds{30});
  // The node logs at warn (plus its "running" line): short, and the first
  // place to look when something went wrong.
  bool anomalous = node_exit != 0 || lost > 0 || duplicates > 0 || premature > 0;
  auto node_log = anomalous ? node.log_text() : std::string{};
  server->stop();

  auto nproc = sysconf(_SC_NPROCESSORS_ONLN);
  auto model = cpu_model();
  if (opts.json) {
    value out{
        {"scenario", opts.scenario},
        {"scheduler", opts.scheduler},
        {"ranker", opts.ranker},
        {"cpu_latency_us", opts.cpu_latency_us},
        {"split_cpus", opts.split_cpus},
        {"crashed", opts.crashed},
        {"rate", opts.rate},
        {"tasks", tasks},
        {"seconds", seconds},
        {"tasks_per_s", per_s},
        {"p50_ms", p50},
        {"p99_ms", p99},
        {"lost", lost},
        {"duplicates", duplicates},
        {"premature", premature},
        {"send_errors", send_errors},
        {"cpu_seconds", {{"node", cpu_node}, {"nats_server", cpu_server}, {"bench", cpu_self}}},
        {"machine", {{"nproc", nproc}, {"cpu_model", model}}}};
    std::cout << out.dump() << '\n';
  } else {
    auto line = [](const char* key) -> std::ostream& {
      return std::cout << std::left << std::setw(12) << key;
    };
    std::cout << std::fixed;
    line("scenario") << opts.scenario << " (" << sc->expected_finished
                     << " routed task(s) per analysis)\n";
    line("queue") << opts.scheduler << ", " << opts.ranker << '\n';
    if (opts.split_cpus) line("cpus") << "split: the server on cores of its own\n";
    if (opts.rate > 0) line("rate") << opts.rate << " roots/s at most (--rate)\n";
    if (opts.crashed > 0)
      line("crashed") << opts.crashed << " crashed record(s) ahead of the run (--crashed)\n";
    if (opts.cpu_latency_us >= 0)
      line("cpu wake") << "within " << opts.cpu_latency_us << " us (node.cpu_latency_us)\n";
    line("tasks") << tasks << '\n';
    line("seconds") << std::setprecision(3) << seconds << " (first send to last event)\n";
    line("tasks/s") << std::setprecision(0) << per_s << " (end to end)\n";
    line("latency") << "p50 " << std::setprecision(2) << p50 << " ms, p99 " << p99
                    << " ms (send to analysis event)\n";
    line("lost") << lost << '\n';
    line("duplicates") << duplicates << '\n';
    line("premature") << premature << " (announced before every task finished)\n";
    line("cpu") << std::setprecision(1) << "node " << cpu_node << " s, nats-server " << cpu_server
                << " s, bench " << cpu_self << " s\n";
    line("machine") << nproc << " x " << model << '\n';
  }
  for (const auto& a : anomalies)
    std::cerr << "switchyard: bench: " << a << '\n';
  if (send_errors > 0)
    std::cerr << "switchyard: bench: " << send_errors
              << " send(s) failed, first: " << first_send_error << '\n';
  if (node_exit != 0)
    std::cerr << "switchyard: bench: the node did not stop cleanly (exit " << node_exit << ")\n";
  if (anomalous) std::cerr << "switchyard: bench: the node's log:\n" << node_log;
  return lost == 0 ? exit_ok : exit_negative;
}

} // namespace

void add_bench_command(CLI::App& app, int& result) {
  auto opts = std::make_shared<bench_options>();
  auto cmd = app.add_subcommand(
      "bench", "Run a benchmark scenario end to end on a fresh embedded nats-server and one node");
  cmd->add_option("--scenario", opts->scenario,
                  "route, fanout, chain, latency, scheduler, resource or api")
      ->required();
  cmd->add_option("--tasks", opts->tasks,
                  "Root tasks to send (default 10000; latency: 200; scheduler: queue operations, "
                  "default 2000000; resource: MiB, default 1024; api: tasks, default 5000)");
  cmd->add_option("--in-flight", opts->in_flight, "Most unconfirmed sends at once")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--concurrency", opts->concurrency,
                  "Workers per consumer identity (api: external worker threads)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--routers", opts->routers, "Router actors in the node")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--timeout", opts->timeout_seconds,
                  "Seconds to wait for the events after the last send; later roots count as lost")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--scheduler", opts->scheduler, "Scheduler plugin of every consumer")
      ->default_str("sy.schedulers.fifo");
  cmd->add_option("--ranker", opts->ranker, "Ranker plugin of every consumer")
      ->default_str("sy.rankers.priority");
  cmd->add_option("--cpu-latency-us", opts->cpu_latency_us,
                  "Run the node with node.cpu_latency_us (needs root; 0: idle CPUs poll)")
      ->check(CLI::Range(0, 1000000));
  cmd->add_flag("--split-cpus", opts->split_cpus,
                "Run the server on cores of its own, the bench and the node on the others (as "
                "broker.embedded_cpus = \"split\")");
  cmd->add_option("--rate", opts->rate,
                  "Roots sent per second at most (default: as fast as they are confirmed; "
                  "latency sends one at a time anyway)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--crashed", opts->crashed,
                  "Analyses whose task crashes, run first: their records stay ahead of the "
                  "measured ones")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", opts->json, "Print one JSON object");
  cmd->callback([opts, &result] { result = run_bench(*opts); });
}

} // namespace sy::cli
