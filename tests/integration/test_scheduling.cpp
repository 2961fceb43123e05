// Scheduler and ranker plugins end to end: one worker, tasks queued behind a
// slow one, and the order in which the worker took them.
#define CAF_SUITE integration.scheduling
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "tests/integration/pipeline_fixture.hpp"

#include <algorithm>
#include <sstream>
#include <thread>

using namespace sy;
using namespace sy::test;
using namespace std::chrono_literals;

namespace {

/// A node with one consumer "work" of one worker that logs "ran" for every
/// task and takes `service_ms` over it, with the given scheduler and ranker
/// tables.
std::string work_node(const std::string& scheduler, const std::string& ranker, int service_ms) {
  return "[router]\ninstances = 1\n[[consumer]]\nidentity = \"work\"\n"
         "plugin = \"sy.consumers.synthetic\"\nfilters = [{type = \"job\"}]\nconcurrency = 1\n"
         "config = { service_time_ms = " +
         std::to_string(service_ms) + ", log = \"ran\" }\nscheduler = " + scheduler +
         "\nranker = " + ranker + "\n";
}

/// The roots among `roots` in the order the node's worker ran their tasks
/// (its "ran" log lines; one worker, so that is the dispatch order).
std::vector<std::string> run_order(const node_process& node,
                                   const std::vector<std::string>& roots) {
  std::vector<std::string> order;
  std::istringstream lines{node.log_text()};
  for (std::string line; std::getline(lines, line);) {
    if (line.find("] ran") == std::string::npos) continue;
    for (const auto& r : roots)
      if (line.find(" " + r + " ") != std::string::npos) order.push_back(r);
  }
  return order;
}

struct scheduling_fixture : pipeline_fixture {
  /// Sends a task that keeps the single worker busy for a while, and waits
  /// until it runs, so that what is sent next queues up behind it.
  std::string occupy(node_process& node) {
    auto root = send({{"type", "job"}, {"n", "blocker"}});
    if (!node.wait_for_log(root + " work] ran"))
      CAF_FAIL("the blocker did not start; node log:\n" << node.log_text());
    return root;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(scheduling_tests, scheduling_fixture)

CAF_TEST(the priority ranker dispatches high before normal before low and fifo inside) {
  node_process node{work_node(R"({ name = "sy.schedulers.priority_queue" })",
                              R"({ name = "sy.rankers.priority" })", 600),
                    server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  auto blocker = occupy(node);
  auto l1 = send({{"type", "job"}, {"n", "l1"}}, priority::low);
  auto n1 = send({{"type", "job"}, {"n", "n1"}}, priority::normal);
  auto h1 = send({{"type", "job"}, {"n", "h1"}}, priority::high);
  auto l2 = send({{"type", "job"}, {"n", "l2"}}, priority::low);
  auto h2 = send({{"type", "job"}, {"n", "h2"}}, priority::high);
  auto n2 = send({{"type", "job"}, {"n", "n2"}}, priority::normal);
  std::vector<std::string> all{blocker, l1, n1, h1, l2, h2, n2};
  if (wait_all(all, 60) != all.size()) CAF_FAIL("analyses missing:\n" << node.log_text());
  CAF_CHECK_EQUAL(run_order(node, all),
                  (std::vector<std::string>{blocker, h1, h2, n1, n2, l1, l2}));
}

CAF_TEST(the age ranker lets a task that waited long overtake fresh higher ones) {
  // aging 1s: a low task that waited 2.5 s ranks above a high one that just
  // arrived (2 classes = 2 s of waiting), the high still above a normal.
  node_process node{work_node(R"({ name = "sy.schedulers.priority_queue" })",
                              R"({ name = "sy.rankers.age", config = { aging = "1s" } })", 200),
                    server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  // 16 high tasks of 200 ms keep the worker busy for 3.2 s.
  std::vector<std::string> train;
  for (int i = 0; i < 16; ++i)
    train.push_back(send({{"type", "job"}, {"n", "train" + std::to_string(i)}}, priority::high));
  auto low = send({{"type", "job"}, {"n", "low"}}, priority::low);
  std::this_thread::sleep_for(2500ms);
  auto high = send({{"type", "job"}, {"n", "high"}}, priority::high);
  auto normal = send({{"type", "job"}, {"n", "normal"}}, priority::normal);
  std::vector<std::string> all{low, high, normal};
  all.insert(all.end(), train.begin(), train.end());
  if (wait_all(all, 60) != all.size()) CAF_FAIL("analyses missing:\n" << node.log_text());
  auto order = run_order(node, {low, high, normal});
  CAF_CHECK_EQUAL(order, (std::vector<std::string>{low, high, normal}));
}

CAF_TEST(the age ranker does not starve low priority under a stream of high) {
  // One worker at 25 ms a task (40/s) and high tasks arriving at ~60/s for
  // 3 s: high ones wait ever longer. The low task, sent early, must run
  // while high ones still wait, not after all of them (which is what the
  // priority ranker would do).
  node_process node{work_node(R"({ name = "sy.schedulers.priority_queue" })",
                              R"({ name = "sy.rankers.age", config = { aging = "500ms" } })", 25),
                    server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  std::vector<std::string> highs;
  std::string low;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; std::chrono::steady_clock::now() - start < 3s; ++i) {
    highs.push_back(send({{"type", "job"}, {"n", i}}, priority::high));
    if (i == 10) low = send({{"type", "job"}, {"n", "low"}}, priority::low);
    std::this_thread::sleep_for(16ms);
  }
  auto all = highs;
  all.push_back(low);
  if (wait_all(all, 90) != all.size()) CAF_FAIL("analyses missing:\n" << node.log_text());
  auto order = run_order(node, all);
  auto pos = std::find(order.begin(), order.end(), low) - order.begin();
  auto after = static_cast<long>(order.size()) - pos - 1;
  CAF_MESSAGE("the low task ran " << pos << "th of " << order.size() << ", " << after
                                  << " high ones after it");
  CAF_CHECK_GREATER_OR_EQUAL(after, 20);
}

CAF_TEST(a duplicate of a waiting task finishes without running) {
  node_process node{work_node(R"({ name = "sy.schedulers.priority_queue" })",
                              R"({ name = "sy.rankers.priority" })", 1000),
                    server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  auto blocker = occupy(node);
  auto first = send({{"type", "job"}, {"n", "same"}});
  auto second = send({{"type", "job"}, {"n", "same"}});
  auto other = send({{"type", "job"}, {"n", "other"}});
  std::vector<std::string> all{blocker, first, second, other};
  if (wait_all(all, 60) != all.size()) CAF_FAIL("analyses missing:\n" << node.log_text());
  CAF_CHECK_EQUAL(run_order(node, all), (std::vector<std::string>{blocker, first, other}));
  CAF_CHECK(node.wait_for_log("duplicate of waiting task"));
  std::lock_guard<std::mutex> guard{mutex};
  CAF_CHECK_EQUAL(events[second].value("finished", 0), 1);
}

CAF_TEST(a full priority queue pauses the stream and loses nothing) {
  node_process node{
      work_node(R"({ name = "sy.schedulers.priority_queue", config = { maxsize = 2 } })",
                R"({ name = "sy.rankers.priority" })", 20),
      server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  std::vector<std::string> roots;
  for (int i = 0; i < 60; ++i)
    roots.push_back(send({{"type", "job"}, {"n", i}}));
  if (wait_all(roots, 60) != roots.size()) CAF_FAIL("analyses missing:\n" << node.log_text());
  CAF_CHECK_EQUAL(run_order(node, roots).size(), roots.size());
}

CAF_TEST(the grace period ranker knows runs finished before a node restart) {
  auto toml =
      work_node(R"({ name = "sy.schedulers.priority_queue" })",
                R"({ name = "sy.rankers.grace_period", config = { grace_period = "1h" } })", 300);
  std::string recent;
  {
    node_process node{toml, server.url()};
    CAF_CHECK(node.wait_for_log("running"));
    recent = send({{"type", "job"}, {"n", "recent"}});
    if (!wait_event(recent)) CAF_FAIL("no event:\n" << node.log_text());
    CAF_CHECK_EQUAL(node.stop(15), 0);
  }
  // A new node: what ran is known from sy_runs, not from its own memory.
  node_process node{toml, server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  auto blocker = occupy(node);
  // Sent first, but it ran minutes ago; the other never ran: top band.
  auto again = send({{"type", "job"}, {"n", "recent"}});
  auto fresh = send({{"type", "job"}, {"n", "fresh"}});
  std::vector<std::string> all{blocker, again, fresh};
  if (wait_all(all, 60) != all.size()) CAF_FAIL("analyses missing:\n" << node.log_text());
  CAF_CHECK_EQUAL(run_order(node, all), (std::vector<std::string>{blocker, fresh, again}));
}

CAF_TEST_FIXTURE_SCOPE_END()
