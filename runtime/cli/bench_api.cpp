#include "runtime/cli/bench_api.hpp"

#include "runtime/broker/stream_spec.hpp"
#include "runtime/cli/bench_rig.hpp"
#include "runtime/cli/command.hpp"
#include "runtime/core/value.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/pipeline/producer.hpp"
#include "runtime/sim/report.hpp"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <httplib.h>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

namespace sy::cli {

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* identity = "runner";

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

/// Messages in the identity's queue (waiting or leased).
std::uint64_t queued(broker::connection& conn) {
  auto counts =
      broker::subject_counts(conn, pipeline::queues_stream, pipeline::queue_filter(identity));
  std::uint64_t n = 0;
  if (counts)
    for (const auto& [_, c] : *counts)
      n += c;
  return n;
}

struct worker_stats {
  std::vector<double> pop_ms;
  std::vector<double> report_ms;
  std::vector<std::string> uids;
  std::string failure;
};

/// One external worker: pop one, report it Finished, until `done` reaches
/// `total`.
void work(int port, long total, std::atomic<long>& done, worker_stats& stats) {
  httplib::Client client{"127.0.0.1", port};
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  client.set_read_timeout(30, 0);
  while (done.load() < total) {
    auto t0 = clock_type::now();
    auto popped = client.Post("/api/queues/runner/pop?limit=1", "", "application/json");
    if (!popped || popped->status != 200) {
      stats.failure = popped ? popped->body : httplib::to_string(popped.error());
      return;
    }
    auto body = value::parse(popped->body, nullptr, false);
    const auto& tasks = body["tasks"];
    if (tasks.empty()) {
      std::this_thread::sleep_for(1ms);
      continue;
    }
    stats.pop_ms.push_back(ms_since(t0));
    for (const auto& t : tasks) {
      auto uid = t["task"]["uid"].get<std::string>();
      auto t1 = clock_type::now();
      auto reported = client.Patch("/api/tasks/" + uid,
                                   value{{"lease", t["lease"]}, {"status", "Finished"}}.dump(),
                                   "application/json");
      if (!reported || reported->status != 200) {
        stats.failure = reported ? reported->body : httplib::to_string(reported.error());
        return;
      }
      stats.report_ms.push_back(ms_since(t1));
      stats.uids.push_back(std::move(uid));
      ++done;
    }
  }
}

} // namespace

int run_api_bench(long tasks, int workers, bool json) {
  if (tasks <= 0) tasks = 5000;
  auto fail = [](const std::string& what) {
    std::cerr << "switchyard: bench: " << what << '\n';
    return exit_negative;
  };
  std::ostringstream toml;
  toml << "[log]\nlevel = \"warn\"\nlevels = { node = \"info\", api = \"info\" }\n"
       << "[api]\nlisten = \"127.0.0.1:0\"\n"
       << "[[consumer]]\nidentity = \"" << identity << "\"\nplugin = \"sy.external\"\n"
       << "filters = [ { type = \"bench\" } ]\nconcurrency = 1024\nlease = \"60s\"\n";
  auto rig = bench_rig::start("bench-api", toml.str());
  if (!rig) return fail(rig.error().message);
  auto& server = (*rig)->server;
  auto& node = *(*rig)->node;
  std::smatch m;
  auto log = node.log_text();
  if (!std::regex_search(log, m, std::regex{R"(dashboard on http://127\.0\.0\.1:(\d+)/)"}))
    return fail("the node did not say where its API listens:\n" + log);
  int port = std::stoi(m[1]);

  broker::connection_options copts;
  copts.urls = {server->url()};
  copts.name = "switchyard bench api";
  auto conn = broker::connection::connect(copts);
  if (!conn) return fail(conn.error().message);
  auto producer = pipeline::producer::open(*conn);
  if (!producer) return fail(producer.error().message);
  for (long i = 0; i < tasks; ++i)
    if (auto sent = producer->send(make_task({{"type", "bench"}, {"i", i}})); !sent)
      return fail("send: " + sent.error().message);
  auto deadline = clock_type::now() + 120s;
  while (queued(**conn) < static_cast<std::uint64_t>(tasks)) {
    if (clock_type::now() > deadline) return fail("the tasks were not all routed within 120 s");
    std::this_thread::sleep_for(50ms);
  }

  std::atomic<long> done{0};
  std::vector<worker_stats> stats(static_cast<std::size_t>(workers));
  auto start = clock_type::now();
  {
    std::vector<std::thread> threads;
    for (auto& s : stats)
      threads.emplace_back([&, port] { work(port, tasks, done, s); });
    for (auto& t : threads)
      t.join();
  }
  auto seconds = ms_since(start) / 1000;
  for (const auto& s : stats)
    if (!s.failure.empty()) return fail("a worker failed: " + s.failure);
  // Every report acked its task: the queue empties.
  deadline = clock_type::now() + 30s;
  while (queued(**conn) > 0 && clock_type::now() < deadline)
    std::this_thread::sleep_for(50ms);
  auto left = queued(**conn);
  std::vector<double> pops, reports;
  std::multiset<std::string> uids;
  for (auto& s : stats) {
    pops.insert(pops.end(), s.pop_ms.begin(), s.pop_ms.end());
    reports.insert(reports.end(), s.report_ms.begin(), s.report_ms.end());
    uids.insert(s.uids.begin(), s.uids.end());
  }
  std::sort(pops.begin(), pops.end());
  std::sort(reports.begin(), reports.end());
  auto duplicates = uids.size() - std::set<std::string>(uids.begin(), uids.end()).size();
  node.stop(30s);
  auto rate = static_cast<double>(tasks) / seconds;
  if (json) {
    std::cout << value{{"scenario", "api"},
                       {"tasks", tasks},
                       {"workers", workers},
                       {"seconds", seconds},
                       {"round_trips_per_s", rate},
                       {"pop_ms",
                        {{"p50", sim::percentile(pops, 0.5)},
                         {"p99", sim::percentile(pops, 0.99)}}},
                       {"report_ms",
                        {{"p50", sim::percentile(reports, 0.5)},
                         {"p99", sim::percentile(reports, 0.99)}}},
                       {"left_in_queue", left},
                       {"duplicates", duplicates},
                       {"cpu", cpu_model()}}
                     .dump()
              << '\n';
  } else {
    std::cout << std::fixed << std::setprecision(2) << "scenario      api (" << workers
              << " external workers, pop 1 + report Finished over HTTP keep-alive)\n"
              << "tasks         " << tasks << " in " << seconds << " s\n"
              << "round trips   " << std::setprecision(0) << rate << " /s\n"
              << std::setprecision(2) << "pop           p50 " << sim::percentile(pops, 0.5)
              << " ms, p99 " << sim::percentile(pops, 0.99) << " ms\n"
              << "report        p50 " << sim::percentile(reports, 0.5) << " ms, p99 "
              << sim::percentile(reports, 0.99) << " ms\n"
              << "left, dups    " << left << ", " << duplicates << '\n'
              << "cpu           " << cpu_model() << '\n';
  }
  return left == 0 && duplicates == 0 ? exit_ok : exit_negative;
}

} // namespace sy::cli
