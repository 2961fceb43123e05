#define CAF_SUITE integration.pipeline
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/broker/consumer_spec.hpp"
#include "runtime/broker/embedded_server.hpp"
#include "runtime/broker/stream_spec.hpp"
#include "runtime/core/cpu_affinity.hpp"
#include "runtime/core/cpu_latency.hpp"
#include "runtime/task/resource_ref.hpp"
#include "runtime/task/uid.hpp"
#include "tests/integration/pipeline_fixture.hpp"

#include <atomic>
#include <charconv>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

using namespace sy;
using namespace sy::test;

namespace {

std::string routing_node() {
  return "[router]\ninstances = 1\n" +
         pipeline_fixture::consumer("not-raw", R"([{type = "sample", kind = "!raw"}])") +
         pipeline_fixture::consumer("samples", R"([{type = "sample"}])") +
         pipeline_fixture::consumer("others", R"([{type = "other"}])");
}

/// A node with a router, a housekeeper that looks every 200 ms, and
/// `consumers`.
std::string quick_housekeeping(const std::string& consumers) {
  return "[router]\ninstances = 1\n[housekeeper]\ninterval = \"200ms\"\n" + consumers;
}

using names = std::multiset<std::string>;

/// A child task of another analysis, as a worker sends it.
task child_task(value headers) {
  auto t = make_task(std::move(headers));
  t.root_uid = new_uid();
  t.parent_uid = new_uid();
  return t;
}

/// Fails the test with the broker state and the node's log when the analysis
/// of `root` is not announced in time: the rest of the test needs it.
#define REQUIRE_EVENT(root, node)                                                                  \
  do {                                                                                             \
    if (!wait_event(root))                                                                         \
      CAF_FAIL("no analysis event for " << root << "; broker state:\n"                             \
                                        << dump_state() << "node log:\n"                           \
                                        << (node).log_text());                                     \
  } while (false)

/// Makes `stream` store messages without answering the publisher (its
/// `no_ack`), or answer again; says why not if it cannot.
std::optional<std::string> set_no_ack(broker::connection& conn, const std::string& stream,
                                      bool on) {
  auto info = conn.request("$JS.API.STREAM.INFO." + stream, "", std::chrono::seconds{2});
  if (!info) return info.error().message;
  auto config = value::parse(info->data())["config"];
  config["no_ack"] = on;
  auto updated =
      conn.request("$JS.API.STREAM.UPDATE." + stream, config.dump(), std::chrono::seconds{2});
  if (!updated) return updated.error().message;
  auto reply = value::parse(updated->data(), nullptr, false);
  if (!reply.is_object() || reply.contains("error")) return std::string{updated->data()};
  return std::nullopt;
}

/// A node with one router, logging at debug level, and consumer `a` of
/// "job" tasks (synthetic, with `config`).
std::string debug_routing_node(const std::string& config = "{}") {
  return "[router]\ninstances = 1\n[log]\nlevels = { router = \"debug\" }\n" +
         pipeline_fixture::consumer("a", R"([{type = "job"}])", config);
}

/// Records the only fork of `root`, for `a`, in `status`, as an earlier
/// routing of it did.
task record_sole_fork(broker::kv_bucket& tasks, const task& root, task_status status) {
  auto fork = fork_for(root, "a");
  fork.sole_fork = true;
  fork.status = status;
  CAF_REQUIRE(tasks.create(pipeline::task_key(fork), encode(fork)));
  return fork;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(pipeline_tests, pipeline_fixture)

CAF_TEST(tasks are forked to every matching bind and negation vetoes) {
  node_process node{routing_node(), server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  auto raw = send({{"type", "sample"}, {"kind", "raw"}});
  auto exe = send({{"type", "sample"}, {"kind", "exe"}});
  auto none = send({{"type", "unknown"}});
  REQUIRE_EVENT(raw, node);
  REQUIRE_EVENT(exe, node);
  REQUIRE_EVENT(none, node);
  CAF_CHECK_EQUAL(receivers(raw, "Finished"), names{"samples"});
  CAF_CHECK_EQUAL(receivers(exe, "Finished"), (names{"not-raw", "samples"}));
  CAF_CHECK(receivers(none, "Finished").empty());
  CAF_CHECK(node.wait_for_log("no bind matches"));
  std::lock_guard<std::mutex> guard{mutex};
  CAF_CHECK_EQUAL(events[exe].value("finished", -1), 2);
  CAF_CHECK_EQUAL(events[none].value("finished", -1), 0);
  // Fork uids are the deterministic ones.
  std::set<std::string> uids;
  for (const auto& t : events[exe]["tasks"])
    uids.insert(t.value("uid", ""));
  CAF_CHECK_EQUAL(uids,
                  (std::set<std::string>{fork_uid(exe, "not-raw"), fork_uid(exe, "samples")}));
}

CAF_TEST(children join the analysis which completes after the last of them) {
  std::string toml =
      "[router]\ninstances = 1\n" +
      consumer("classifier", R"([{type = "sample", kind = "raw"}])",
               R"({ service_time_ms = 5, emit = [ { type = "sample", stage = "recognized" } ] })") +
      consumer("extractor", R"([{type = "sample", stage = "recognized"}])",
               R"({ service_time_ms = 20 })") +
      consumer("reporter", R"([{stage = "recognized"}])", R"({ service_time_ms = 40 })");
  node_process node{toml, server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  auto root = send({{"type", "sample"}, {"kind", "raw"}}, priority::high);
  REQUIRE_EVENT(root, node);
  CAF_CHECK_EQUAL(receivers(root, "Finished"), (names{"classifier", "extractor", "reporter"}));
  std::lock_guard<std::mutex> guard{mutex};
  CAF_CHECK_EQUAL(events[root].value("crashed", -1), 0);
  auto classifier = fork_uid(root, "classifier");
  for (const auto& t : events[root]["tasks"]) {
    if (t["receiver"] == "classifier")
      CAF_CHECK_EQUAL(t.value("parent_uid", "?"), "");
    else
      CAF_CHECK_EQUAL(t.value("parent_uid", ""), classifier);
  }
}

CAF_TEST(a crashing consumer records Crashed with its error) {
  node_process node{"[router]\ninstances = 1\n" +
                        consumer("flaky", R"([{type = "sample"}])", "{ crash_probability = 1.0 }"),
                    server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  auto root = send({{"type", "sample"}});
  REQUIRE_EVENT(root, node);
  CAF_CHECK_EQUAL(receivers(root, "Crashed"), names{"flaky"});
  CAF_CHECK(node.wait_for_log("crashed: synthetic crash"));
  std::lock_guard<std::mutex> guard{mutex};
  CAF_CHECK_EQUAL(events[root].value("crashed", -1), 1);
}

CAF_TEST(finished records go past a crashed one that stays and moves back once enough wait) {
  node_process node{
      quick_housekeeping(consumer("work", R"([{type = "job"}])") +
                         consumer("flaky", R"([{type = "flaky"}])", "{ crash_probability = 1.0 }")),
      server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  auto tasks = broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  CAF_REQUIRE(tasks.has_value());
  auto record_gone = [&](const std::string& root, const std::string& receiver) {
    auto key = pipeline::task_key(root, fork_uid(root, receiver));
    for (int i = 0; i < 100; ++i) {
      auto r = tasks->get(key);
      if (!r && r.error().code == errc::not_found) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
    return false;
  };
  auto run_jobs = [&](int n) {
    std::vector<std::string> roots;
    for (int i = 0; i < n; ++i)
      roots.push_back(send({{"type", "job"}}));
    for (const auto& root : roots)
      REQUIRE_EVENT(root, node);
    for (const auto& root : roots)
      CAF_CHECK(record_gone(root, "work"));
  };
  // Nothing stays: the finished records go together in a purge.
  run_jobs(5);
  // A crashed record stays for crashed_ttl and holds the purge back. One
  // record finished after it is not worth moving it for: it goes by itself.
  auto crashed = send({{"type", "flaky"}});
  REQUIRE_EVENT(crashed, node);
  forget_event(crashed);
  auto crashed_key = pipeline::task_key(crashed, fork_uid(crashed, "flaky"));
  auto before = tasks->get(crashed_key);
  CAF_REQUIRE(before.has_value());
  run_jobs(1);
  CAF_CHECK(node.wait_for_log("the finished records after it are removed one by one"));
  // Many records finished after it: it is written again, unchanged, at the
  // stream's end, and they go in a purge.
  run_jobs(20);
  auto after = tasks->get(crashed_key);
  CAF_REQUIRE(after.has_value());
  CAF_CHECK_GREATER(after->revision, before->revision);
  CAF_CHECK_EQUAL(after->value, before->value);
  // Moved, it is still the record of an analysis announced once.
  CAF_CHECK(!wait_event(crashed, 3));
}

CAF_TEST(higher priority tasks overtake waiting lower ones) {
  node_process node{"[router]\ninstances = 1\n" +
                        consumer("slow", R"([{type = "job"}])", "{ service_time_ms = 30 }", 1),
                    server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  std::vector<std::string> lows;
  for (int i = 0; i < 10; ++i)
    lows.push_back(send({{"type", "job"}, {"n", i}}, priority::low));
  auto high = send({{"type", "job"}, {"n", 99}}, priority::high);
  lows.push_back(high);
  CAF_CHECK_EQUAL(wait_all(lows, 30), lows.size());
  std::lock_guard<std::mutex> guard{mutex};
  auto pos = std::find(event_order.begin(), event_order.end(), high) - event_order.begin();
  // Only lows already running when it arrived finish before it.
  CAF_CHECK_LESS(pos, 4);
}

CAF_TEST(a high priority task is routed ahead of a low backlog) {
  // A backlog of low roots matching no bind waits in SY_UNROUTED before any
  // router runs; a high root sent once the node runs must not wait for it.
  constexpr int backlog = 20000;
  std::atomic<int> confirmed{0};
  std::atomic<int> failed{0};
  for (int i = 0; i < backlog; ++i)
    producer->send_async(make_task({{"type", "bulk"}, {"n", i}}, value::object(), priority::low),
                         [&](expected<std::string> uid) { (uid ? confirmed : failed)++; });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
  while (confirmed + failed < backlog && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  CAF_REQUIRE_EQUAL(confirmed.load(), backlog);
  node_process node{"[router]\ninstances = 1\n" + consumer("urgent", R"([{type = "urgent"}])"),
                    server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  auto high = send({{"type", "urgent"}}, priority::high);
  REQUIRE_EVENT(high, node);
  CAF_CHECK_EQUAL(receivers(high, "Finished"), names{"urgent"});
  auto low = broker::consumer_info(*conn, pipeline::unrouted_stream,
                                   pipeline::router_durable(priority::low));
  CAF_REQUIRE(low);
  // Routed in arrival order, it would have come after every low one.
  CAF_CHECK_GREATER(low->num_pending, 1000u);
}

CAF_TEST(a high priority task overtakes a low backlog waiting in its queue) {
  // Far more lows than the scheduler's window: they wait in SY_QUEUES. A
  // high task must not wait for the ones ahead of it in the stream.
  node_process node{"[router]\ninstances = 1\n" +
                        consumer("work", R"([{type = "job"}])", "{ service_time_ms = 2 }", 1),
                    server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  constexpr int backlog = 2000;
  std::vector<std::string> lows;
  std::mutex sent_mutex;
  std::atomic<int> answered{0};
  for (int i = 0; i < backlog; ++i)
    producer->send_async(make_task({{"type", "job"}, {"n", i}}, value::object(), priority::low),
                         [&](expected<std::string> uid) {
                           if (uid) {
                             std::lock_guard<std::mutex> guard{sent_mutex};
                             lows.push_back(*uid);
                           }
                           answered++;
                         });
  while (answered < backlog)
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  CAF_REQUIRE_EQUAL(lows.size(), static_cast<std::size_t>(backlog));
  auto high = send({{"type", "job"}, {"n", -1}}, priority::high);
  REQUIRE_EVENT(high, node);
  std::size_t lows_done = 0;
  {
    std::lock_guard<std::mutex> guard{mutex};
    for (const auto& r : lows)
      lows_done += events.count(r);
  }
  // In arrival order it would have come after all of them (about 4 s of
  // work); it may wait for the lows the scheduler already held.
  CAF_CHECK_LESS(lows_done, static_cast<std::size_t>(backlog / 2));
  CAF_CHECK_EQUAL(wait_all(lows, 60), lows.size());
}

CAF_TEST(the shared consumers of earlier versions are replaced by one per priority) {
  broker::consumer_spec routers;
  routers.stream = pipeline::unrouted_stream;
  routers.durable = pipeline::shared_router_durable;
  CAF_REQUIRE(broker::ensure_consumer(*conn, routers));
  broker::consumer_spec queue;
  queue.stream = pipeline::queues_stream;
  queue.durable = pipeline::shared_queue_durable("work");
  queue.filter_subject = pipeline::queue_filter("work");
  CAF_REQUIRE(broker::ensure_consumer(*conn, queue));
  auto root = send({{"type", "job"}});
  node_process node{"[router]\ninstances = 1\n" + consumer("work", R"([{type = "job"}])"),
                    server.url()};
  CAF_CHECK(node.wait_for_log("removing the routers' shared consumer \"router\""));
  CAF_CHECK(node.wait_for_log("removing the queue work's shared consumer \"work\""));
  REQUIRE_EVENT(root, node);
  CAF_CHECK_EQUAL(receivers(root, "Finished"), names{"work"});
  for (const auto& old : {routers, queue}) {
    auto gone = broker::consumer_info(*conn, old.stream, old.durable);
    CAF_CHECK(!gone && gone.error().code == errc::not_found);
  }
}

CAF_TEST(a task published with an unknown priority is refused and not stored unread) {
  // Each priority has its routers' consumer; no consumer would read any other.
  auto refused = conn->js_publish({"sy.unrouted.urgent", "bytes", {}, "urgent-1", std::nullopt},
                                  std::chrono::seconds{2});
  CAF_CHECK(!refused && refused.error().code == errc::unavailable);
  CAF_CHECK_EQUAL(stored(pipeline::unrouted_stream), 0u);
}

CAF_TEST(a send repeated with the same uid leaves the routed record as it is) {
  // A child, as a worker sends it: recorded Declared before it is published.
  auto t = child_task({{"type", "other"}});
  auto key = pipeline::task_key(t);
  CAF_REQUIRE(producer->send(t));
  auto tasks = broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  CAF_REQUIRE(tasks.has_value());
  auto declared = tasks->get(key);
  CAF_REQUIRE(declared.has_value());
  auto routed = decode_task(declared->value);
  CAF_REQUIRE(routed && routed->status == task_status::declared);
  // What a router writes once it routed the task.
  routed->status = task_status::finished;
  CAF_REQUIRE(tasks->put(key, encode(*routed)));
  // The user sends it again, e.g. after a timeout: accepted, stored once,
  // and the record still says routed (a Declared one would keep the
  // analysis open forever, since no router reads the message again).
  auto again = producer->send(t);
  CAF_REQUIRE(again.has_value());
  CAF_CHECK_EQUAL(*again, t.uid);
  auto after = tasks->get(key);
  CAF_REQUIRE(after.has_value());
  auto record = decode_task(after->value);
  CAF_CHECK(record && record->status == task_status::finished);
  CAF_CHECK_EQUAL(stored(pipeline::unrouted_stream), 1u);
}

CAF_TEST(a send that cannot publish removes only the record it wrote) {
  auto tasks = broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  CAF_REQUIRE(tasks.has_value());
  // Children, whose records are written before they are published. A task
  // sent before, whose record a router already marked routed:
  auto earlier = child_task({{"type", "other"}});
  earlier.status = task_status::finished;
  CAF_REQUIRE(tasks->put(pipeline::task_key(earlier), encode(earlier)));
  CAF_REQUIRE(broker::delete_stream(*conn, pipeline::unrouted_stream));
  auto fresh = child_task({{"type", "other"}});
  auto sent = producer->send(fresh);
  CAF_REQUIRE(!sent);
  CAF_CHECK(sent.error().message.find("cannot publish task " + fresh.uid) != std::string::npos);
  // Its own record goes again: nothing is left to keep an analysis open.
  // Removal is asynchronous, right behind the answer.
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {
    gone = !tasks->get(pipeline::task_key(fresh)).has_value();
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  CAF_CHECK(gone);
  // A record this send did not write stays.
  auto repeated = producer->send(earlier);
  CAF_CHECK(!repeated);
  std::this_thread::sleep_for(std::chrono::milliseconds{200});
  auto kept = tasks->get(pipeline::task_key(earlier));
  CAF_REQUIRE(kept.has_value());
  auto record = decode_task(kept->value);
  CAF_CHECK(record && record->status == task_status::finished);
  // Once the broker takes messages again, sending the failed task again
  // records and publishes it: the removal left no delete marker in the way.
  CAF_REQUIRE(pipeline::ensure_layout(*conn, {}));
  CAF_REQUIRE(producer->send(fresh));
  auto recorded = tasks->get(pipeline::task_key(fresh));
  CAF_REQUIRE(recorded.has_value());
  auto declared = decode_task(recorded->value);
  CAF_CHECK(declared && declared->status == task_status::declared);
}

CAF_TEST(a send whose writes go unanswered tries them again) {
  // A stream with no_ack stores messages without answering: the producer
  // cannot tell whether its write was stored, as in a broker failover.
  // Attempts at about 0 s and 1.5 s go unanswered; the stream answers again
  // at 2.25 s, before the third attempt.
  broker::connection_options opts;
  opts.urls = {server.url()};
  opts.publish_ack_timeout = std::chrono::milliseconds{1500};
  auto impatient = broker::connection::connect(opts);
  CAF_REQUIRE(impatient.has_value());
  auto sender = pipeline::producer::open(*impatient);
  CAF_REQUIRE(sender.has_value());
  auto tasks = broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  CAF_REQUIRE(tasks.has_value());
  for (const auto* stream : {pipeline::tasks_stream, pipeline::unrouted_stream}) {
    CAF_MESSAGE("unanswered: " << stream);
    auto refused = set_no_ack(*conn, stream, true);
    CAF_REQUIRE_EQUAL(refused, std::nullopt);
    std::optional<std::string> not_again;
    std::thread answer_again{[&] {
      std::this_thread::sleep_for(std::chrono::milliseconds{2250});
      not_again = set_no_ack(*conn, stream, false);
    }};
    auto t = child_task({{"type", "other"}}); // a root would have no record to write
    auto sent = sender->send(t);
    answer_again.join();
    CAF_REQUIRE_EQUAL(not_again, std::nullopt);
    // The repeated record create finds the record; the repeated publish is
    // acked as a duplicate of the stored one.
    CAF_REQUIRE(sent.has_value());
    CAF_CHECK_EQUAL(*sent, t.uid);
    // The record stays (without it, a router would take the stored message
    // as already routed), and the message was stored once.
    auto recorded = tasks->get(pipeline::task_key(t));
    CAF_REQUIRE(recorded.has_value());
    auto declared = decode_task(recorded->value);
    CAF_CHECK(declared && declared->status == task_status::declared);
  }
  CAF_CHECK_EQUAL(stored(pipeline::unrouted_stream), 2u);
}

CAF_TEST(a root is recorded by its router and not before) {
  // The send publishes the root and writes no record (one write less on
  // the way of every analysis); the router records it routed.
  auto root = make_task({{"type", "other"}});
  CAF_REQUIRE(producer->send(root));
  auto tasks = broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  CAF_REQUIRE(tasks.has_value());
  auto none = tasks->get(pipeline::task_key(root));
  CAF_REQUIRE(!none.has_value());
  CAF_CHECK_EQUAL(none.error().code, errc::not_found);
  // A root that refers to a stored file is recorded at once: the resource
  // collection keeps only the objects some record refers to.
  resource_ref file;
  file.name = "sample.bin";
  file.object = new_uid();
  auto with_file = make_task({{"type", "other"}}, value{{"sample", to_value(file)}});
  CAF_REQUIRE(producer->send(with_file));
  auto recorded = tasks->get(pipeline::task_key(with_file));
  CAF_REQUIRE(recorded.has_value());
  auto declared = decode_task(recorded->value);
  CAF_CHECK(declared && declared->status == task_status::declared);
  node_process node{routing_node(), server.url()};
  REQUIRE_EVENT(root.uid, node);
  CAF_CHECK_EQUAL(receivers(root.uid, "Finished"), names{"others"});
  REQUIRE_EVENT(with_file.uid, node);
}

CAF_TEST(a node holds node.cpu_latency_us while it runs and not after) {
  auto before = cpu_latency_request::current();
  ::setenv("SWITCHYARD_NODE_CPU_LATENCY_US", "3", 1);
  node_process node{routing_node(), server.url()};
  ::unsetenv("SWITCHYARD_NODE_CPU_LATENCY_US");
  CAF_REQUIRE(node.wait_for_log("running"));
  if (!node.wait_for_log("CPUs held to wake within 3 us", 1)) {
    // Not root here: the node says so and runs all the same.
    CAF_CHECK(node.wait_for_log("node.cpu_latency_us = 3 not applied"));
    return;
  }
  CAF_REQUIRE(before.has_value());
  auto during = cpu_latency_request::current();
  CAF_CHECK(during && *during <= 3);
  CAF_CHECK_EQUAL(node.stop(), 0);
  auto after = cpu_latency_request::current();
  CAF_CHECK(after && *after == *before);
}

namespace {

/// The numbers among the names in `dir` (processes, threads).
std::vector<pid_t> numbered_entries(const std::string& dir) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator{dir, ec}) {
    auto name = e.path().filename().string();
    pid_t n = 0;
    auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), n);
    if (err == std::errc{} && end == name.data() + name.size()) out.push_back(n);
  }
  return out;
}

/// The CPUs of each thread of process `pid`, as lists.
std::set<std::string> cpu_lists_of(pid_t pid) {
  std::set<std::string> out;
  for (auto tid : numbered_entries("/proc/" + std::to_string(pid) + "/task"))
    if (auto cpus = allowed_cpus(tid)) out.insert(cpu_list(*cpus));
  return out;
}

/// The first child process of `parent` found in /proc; 0 if none.
pid_t child_of(pid_t parent) {
  for (auto pid : numbered_entries("/proc")) {
    std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
    std::string stat{std::istreambuf_iterator<char>{in}, {}};
    // "pid (comm) state ppid ...": the command may hold spaces.
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest{stat.substr(close + 1)};
    std::string state;
    pid_t ppid = 0;
    if (rest >> state >> ppid && ppid == parent) return pid;
  }
  return 0;
}

} // namespace

CAF_TEST(a node with embedded cpus split runs apart from its embedded server) {
  node_process node{routing_node(), std::vector<std::string>{},
                    "embedded_port = 0\nembedded_cpus = \"split\"\n"};
  CAF_REQUIRE(node.wait_for_log("running"));
  auto allowed = allowed_cpus();
  CAF_REQUIRE(allowed);
  auto split = split_cpus(*allowed, broker::shared_machine_server_threads());
  if (!split) {
    CAF_CHECK(node.wait_for_log("broker.embedded_cpus = \"split\" not applied"));
    return;
  }
  CAF_CHECK(node.wait_for_log("node on CPUs " + cpu_list(split->node) +
                              ", its embedded server on CPUs " + cpu_list(split->server)));
  CAF_CHECK_EQUAL(cpu_lists_of(node.pid()), std::set<std::string>{cpu_list(split->node)});
  auto server = child_of(node.pid());
  CAF_CHECK_NOT_EQUAL(server, 0);
  if (server != 0)
    CAF_CHECK_EQUAL(cpu_lists_of(server), std::set<std::string>{cpu_list(split->server)});
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST(malformed bytes are parked and routing goes on) {
  node_process node{routing_node(), server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  CAF_CHECK(conn->js_publish({"sy.unrouted.normal", "\xc1 garbage", {}, "junk-1", {}},
                             std::chrono::seconds{5}));
  auto after = send({{"type", "sample"}, {"kind", "exe"}});
  REQUIRE_EVENT(after, node);
  CAF_CHECK(node.wait_for_log("parking undecodable message"));
  auto parked = broker::stream_info(*conn, pipeline::parked_stream);
  CAF_CHECK(parked && parked->messages == 1);
}

CAF_TEST(a node killed mid run loses no task) {
  std::string toml = "[router]\ninstances = 1\n" +
                     consumer("work", R"([{type = "job"}])", "{ service_time_ms = 10 }", 4);
  // A short ack wait so that the dead node's tasks come back quickly.
  node_process a{toml, server.url(), "ack_wait = \"2s\""};
  node_process b{toml, server.url(), "ack_wait = \"2s\""};
  CAF_CHECK(a.wait_for_log("running"));
  CAF_CHECK(b.wait_for_log("running"));
  std::vector<std::string> roots;
  for (int i = 0; i < 300; ++i) {
    roots.push_back(send({{"type", "job"}, {"n", i}}));
    if (i == 150) a.kill9();
  }
  if (wait_all(roots, 90) != roots.size())
    CAF_FAIL("analyses missing; broker state:\n" << dump_state() << "node b:\n" << b.log_text());
  std::lock_guard<std::mutex> guard{mutex};
  std::size_t finished = 0;
  for (const auto& r : roots)
    finished += events[r].value("finished", 0) == 1 ? 1 : 0;
  CAF_CHECK_EQUAL(finished, roots.size());
  // Acks the dead node sent too late come back as redeliveries, which the
  // survivor recognises as done and acks: the queue ends up empty.
  if (!wait_drained("work", 30))
    CAF_FAIL("the queue did not drain; broker state:\n"
             << dump_state() << "node b:\n"
             << b.log_text());
}

CAF_TEST(a broker restart mid run loses no task) {
  std::string toml = "[router]\ninstances = 1\n" +
                     consumer("work", R"([{type = "job"}])", "{ service_time_ms = 2 }", 4);
  node_process node{toml, server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  std::vector<std::string> roots;
  for (int i = 0; i < 200; ++i)
    roots.push_back(send({{"type", "job"}, {"n", i}}));
  server.stop();
  CAF_CHECK(server.restart().has_value());
  for (int i = 200; i < 300; ++i) {
    auto uid = producer->send(make_task({{"type", "job"}, {"n", i}}), std::chrono::seconds{30});
    CAF_CHECK(uid.has_value());
    if (uid) roots.push_back(*uid);
  }
  if (wait_all(roots, 90) != roots.size())
    CAF_FAIL("analyses missing; broker state:\n" << dump_state() << "node:\n" << node.log_text());
}

CAF_TEST(a task past its timeout is recorded Crashed) {
  node_process node{"[router]\ninstances = 1\n" +
                        consumer("hangs", R"([{type = "job"}])", "{ service_time_ms = 3000 }") +
                        "task_timeout = \"200ms\"\n",
                    server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  auto root = send({{"type", "job"}});
  REQUIRE_EVENT(root, node);
  CAF_CHECK_EQUAL(receivers(root, "Crashed"), names{"hangs"});
  CAF_CHECK(node.wait_for_log("timed out after 200 ms; replacing the worker"));
}

CAF_TEST(tasks started at different times each time out after task_timeout) {
  node_process node{"[router]\ninstances = 1\n" +
                        consumer("hangs", R"([{type = "job"}])", "{ service_time_ms = 4000 }") +
                        "task_timeout = \"400ms\"\n",
                    server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  auto first_sent = unix_now();
  auto first = send({{"type", "job"}});
  std::this_thread::sleep_for(std::chrono::milliseconds{200}); // the second starts later
  auto second_sent = unix_now();
  auto second = send({{"type", "job"}});
  REQUIRE_EVENT(first, node);
  REQUIRE_EVENT(second, node);
  auto tasks = broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  CAF_REQUIRE(tasks.has_value());
  for (auto [root, sent] : {std::pair{first, first_sent}, std::pair{second, second_sent}}) {
    CAF_CHECK_EQUAL(receivers(root, "Crashed"), names{"hangs"});
    auto record = tasks->get(pipeline::task_key(root, fork_uid(root, "hangs")));
    CAF_REQUIRE(record.has_value());
    auto crashed = decode_task(record->value);
    CAF_REQUIRE(crashed.has_value());
    CAF_CHECK_EQUAL(crashed->error, "timed out after 400 ms");
    // Not before its own timeout, whenever the other one timed out.
    CAF_CHECK_GREATER_OR_EQUAL(crashed->last_update - sent, 0.4);
  }
}

CAF_TEST(a running task is recorded Started once it ran record_started_after) {
  node_process node{"[router]\ninstances = 1\n" +
                        consumer("slow", R"([{type = "job"}])", "{ service_time_ms = 2500 }") +
                        "record_started_after = \"1s\"\n",
                    server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  auto tasks = broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  CAF_REQUIRE(tasks);
  auto sent = std::chrono::steady_clock::now();
  auto root = send({{"type", "job"}});
  auto key = root + "." + fork_uid(root, "slow");
  // The task starts within milliseconds of the send; its record must stay
  // Spawned for the first second it runs and say Started before it ends.
  std::optional<std::chrono::steady_clock::duration> started_after;
  while (!started_after && std::chrono::steady_clock::now() - sent < std::chrono::seconds{5}) {
    auto entry = tasks->get(key);
    if (entry)
      if (auto t = decode_task(entry->value); t && t->status == task_status::started)
        started_after = std::chrono::steady_clock::now() - sent;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  CAF_REQUIRE(started_after);
  CAF_CHECK(*started_after >= std::chrono::milliseconds{950});
  CAF_CHECK(*started_after < std::chrono::milliseconds{2500});
  REQUIRE_EVENT(root, node);
  CAF_CHECK_EQUAL(receivers(root, "Finished"), names{"slow"});
}

CAF_TEST(a task delivered more than max_deliver times is recorded Crashed) {
  // The first node takes the task and dies with it; the second sees the
  // redelivery exceed max_deliver = 1 and records the task Crashed.
  std::string toml = "[router]\ninstances = 1\n" +
                     consumer("work", R"([{type = "job"}])", "{ service_time_ms = 5000 }", 1) +
                     "max_deliver = 1\n";
  node_process a{toml, server.url(), "ack_wait = \"1s\""};
  CAF_CHECK(a.wait_for_log("running"));
  auto root = send({{"type", "job"}});
  std::this_thread::sleep_for(std::chrono::milliseconds{500});
  a.kill9();
  node_process b{toml, server.url(), "ack_wait = \"1s\""};
  REQUIRE_EVENT(root, b);
  CAF_CHECK_EQUAL(receivers(root, "Crashed"), names{"work"});
  CAF_CHECK(b.wait_for_log("delivered 2 times without finishing"));
  auto queue = queue_state("work");
  CAF_CHECK(queue && queue->num_pending == 0 && queue->num_ack_pending == 0);
}

CAF_TEST(a redelivered fork without a record runs again while its parent is unrouted) {
  // A router writes a fork's record and queues its message in parallel; in a
  // broker failover the message can be stored while the record is not. Three
  // forks are queued here:
  // - `pending`: no record, its parent still Declared (its router will
  //   retry): it must run;
  // - `ended`: no record, its parent routed (so its record was written once,
  //   and its absence means the task ended and was removed): skipped;
  // - `done`: recorded Finished, its parent still Declared: skipped;
  // - `loose`: no record, its parent a root published without one and not
  //   announced (still being routed): it must run.
  auto tasks = broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  CAF_REQUIRE(tasks.has_value());
  auto unrouted = make_task({{"type", "job"}});
  CAF_REQUIRE(tasks->put(pipeline::task_key(unrouted), encode(unrouted)));
  auto pending = fork_for(unrouted, "work");
  auto routed = make_task({{"type", "job"}});
  auto ended = fork_for(routed, "work");
  routed.status = task_status::finished;
  routed.spawned = {ended.uid};
  CAF_REQUIRE(tasks->put(pipeline::task_key(routed), encode(routed)));
  auto other = make_task({{"type", "job"}});
  CAF_REQUIRE(tasks->put(pipeline::task_key(other), encode(other)));
  auto done = fork_for(other, "work");
  auto finished = done;
  finished.status = task_status::finished;
  finished.last_update = 1; // a rerun would write the time it ended
  CAF_REQUIRE(tasks->put(pipeline::task_key(finished), encode(finished)));
  auto unrecorded = make_task({{"type", "job"}});
  auto loose = fork_for(unrecorded, "work");
  for (const auto& fork : {pending, ended, done, loose})
    CAF_REQUIRE(conn->js_publish(
        {pipeline::queue_subject("work", fork.priority), encode(fork), {}, fork.uid, std::nullopt},
        std::chrono::seconds{2}));
  // The first node takes all four and dies before recording anything; the
  // second gets them redelivered.
  std::string toml = "[router]\ninstances = 1\n" +
                     consumer("work", R"([{type = "job"}])", "{ service_time_ms = 1500 }", 4) +
                     "record_started_after = \"10s\"\n[log]\nlevels = { scheduler = \"debug\" }\n";
  node_process a{toml, server.url(), "ack_wait = \"1s\""};
  CAF_CHECK(a.wait_for_log("running"));
  bool taken = false;
  for (int i = 0; i < 100 && !taken; ++i) {
    auto queue = queue_state("work");
    taken = queue && queue->num_ack_pending == 4;
    if (!taken) std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  CAF_REQUIRE(taken);
  a.kill9();
  node_process b{toml, server.url(), "ack_wait = \"1s\""};
  if (!wait_drained("work", 20))
    CAF_FAIL("the queue did not drain; broker state:\n"
             << dump_state() << "node b:\n"
             << b.log_text());
  for (const auto* rerun : {&pending, &loose}) {
    auto ran = tasks->get(pipeline::task_key(*rerun));
    CAF_REQUIRE(ran.has_value());
    auto record = decode_task(ran->value);
    CAF_CHECK(record && record->status == task_status::finished);
    CAF_CHECK(b.wait_for_log("[" + rerun->uid + " " + rerun->root_uid +
                             " work] no record, and its parent is not known to be routed"));
  }
  // The others did not run: no record was written again.
  for (const auto* skipped : {&ended, &done})
    CAF_CHECK(b.wait_for_log("[" + skipped->uid + " " + skipped->root_uid +
                             " work] already ended; acking the redelivery"));
  CAF_CHECK(!tasks->get(pipeline::task_key(ended)).has_value());
  auto kept = tasks->get(pipeline::task_key(done));
  CAF_REQUIRE(kept.has_value());
  auto unchanged = decode_task(kept->value);
  CAF_CHECK(unchanged && unchanged->last_update == 1);
  // Once its router marks the parent routed, the analysis completes.
  unrouted.status = task_status::finished;
  unrouted.spawned = {pending.uid};
  CAF_REQUIRE(tasks->put(pipeline::task_key(unrouted), encode(unrouted)));
  REQUIRE_EVENT(unrouted.root_uid, b);
  CAF_CHECK_EQUAL(receivers(unrouted.root_uid, "Finished"), names{"work"});
}

/// Publishes `root` on SY_UNROUTED without a record, as any NATS client
/// may, and takes it once from the routers' consumer (created by a node that
/// ran) without routing it, so that the next router gets it redelivered: a
/// router that died mid-routing.
void publish_unrecorded_and_redeliver(broker::connection& conn, const task& root) {
  CAF_REQUIRE(conn.js_publish(
      {pipeline::unrouted_subject(root.priority), encode(root), {}, root.uid, std::nullopt},
      std::chrono::seconds{2}));
  auto taken = conn.request("$JS.API.CONSUMER.MSG.NEXT." + std::string{pipeline::unrouted_stream} +
                                "." + pipeline::router_durable(root.priority),
                            R"({"batch": 1, "expires": 2000000000})", std::chrono::seconds{3});
  CAF_REQUIRE(taken.has_value());
  CAF_REQUIRE_EQUAL(taken->data(), encode(root));
  CAF_REQUIRE(taken->nak());
}

CAF_TEST(a root published without a record is routed again when its routing was cut short) {
  // The earlier attempt queued the fork for `a`, then its router died
  // before the fork for `b`. The fork for `a` runs at once; it must not end
  // the analysis, and the redelivered root must be routed again.
  node_process node{quick_housekeeping(consumer("a", R"([{type = "job"}])") +
                                       consumer("b", R"([{type = "job"}])")),
                    server.url()};
  CAF_REQUIRE(node.wait_for_log("running"));
  CAF_REQUIRE_EQUAL(node.stop(), 0);
  auto root = make_task({{"type", "job"}});
  auto tasks = broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  CAF_REQUIRE(tasks.has_value());
  auto first = fork_for(root, "a");
  CAF_REQUIRE(tasks->create(pipeline::task_key(first), encode(first)));
  CAF_REQUIRE(conn->js_publish(
      {pipeline::queue_subject("a", first.priority), encode(first), {}, first.uid, std::nullopt},
      std::chrono::seconds{2}));
  publish_unrecorded_and_redeliver(*conn, root);
  node.restart();
  REQUIRE_EVENT(root.uid, node);
  CAF_CHECK_EQUAL(receivers(root.uid, "Finished"), (names{"a", "b"}));
}

CAF_TEST(a task delivered again while it runs is not run a second time) {
  // A message of the same task stored twice (the first one's msg id had
  // left the duplicate window) arrives while the first copy runs: it must
  // not take a second worker. It goes back unacked and, redelivered once
  // the task ended, is acked as a duplicate.
  auto tasks = broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  CAF_REQUIRE(tasks.has_value());
  auto root = make_task({{"type", "job"}});
  CAF_REQUIRE(tasks->put(pipeline::task_key(root), encode(root)));
  auto fork = fork_for(root, "work");
  node_process node{"[router]\ninstances = 1\n" +
                        consumer("work", R"([{type = "job"}])",
                                 R"({ service_time_ms = 1500, log = "ran the task" })") +
                        "[log]\nlevels = { scheduler = \"debug\" }\n",
                    server.url(), "ack_wait = \"1s\""};
  CAF_CHECK(node.wait_for_log("running"));
  auto subject = pipeline::queue_subject("work", fork.priority);
  CAF_REQUIRE(conn->js_publish({subject, encode(fork), {}, fork.uid, std::nullopt},
                               std::chrono::seconds{2}));
  CAF_REQUIRE(node.wait_for_log("ran the task"));
  CAF_REQUIRE(conn->js_publish({subject, encode(fork), {}, fork.uid + "-again", std::nullopt},
                               std::chrono::seconds{2}));
  CAF_CHECK(node.wait_for_log("delivered again while it runs"));
  if (!wait_drained("work", 20))
    CAF_FAIL("the queue did not drain; broker state:\n"
             << dump_state() << "node:\n"
             << node.log_text());
  auto ran = tasks->get(pipeline::task_key(fork));
  CAF_REQUIRE(ran.has_value());
  auto record = decode_task(ran->value);
  CAF_CHECK(record && record->status == task_status::finished);
  auto log = node.log_text();
  std::size_t runs = 0;
  for (auto at = log.find("ran the task"); at != std::string::npos;
       at = log.find("ran the task", at + 1))
    ++runs;
  CAF_CHECK_EQUAL(runs, 1u);
}

CAF_TEST(a redelivered root without a record whose analysis was announced is not routed again) {
  // Routed, completed and removed; only its ack was lost.
  node_process node{debug_routing_node(), server.url()};
  CAF_REQUIRE(node.wait_for_log("running"));
  CAF_REQUIRE_EQUAL(node.stop(), 0);
  auto root = make_task({{"type", "job"}});
  CAF_REQUIRE(conn->js_publish({pipeline::analysis_event_subject(root.uid),
                                R"({"root_uid": ")" + root.uid + R"(", "tasks": []})",
                                {},
                                {},
                                std::nullopt},
                               std::chrono::seconds{2}));
  publish_unrecorded_and_redeliver(*conn, root);
  node.restart();
  CAF_CHECK(node.wait_for_log("[" + root.uid + "] already routed, acking the redelivery"));
  auto tasks = broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  CAF_REQUIRE(tasks.has_value());
  CAF_CHECK(!tasks->get(pipeline::task_key(root)).has_value());
  CAF_CHECK(!tasks->get(pipeline::task_key(fork_for(root, "a"))).has_value());
}

CAF_TEST(a redelivered root whose sole fork was recorded but not queued is queued) {
  // The earlier attempt created the record of the root's only fork, then
  // its router died before publishing the fork.
  node_process node{debug_routing_node(), server.url()};
  CAF_REQUIRE(node.wait_for_log("running"));
  CAF_REQUIRE_EQUAL(node.stop(), 0);
  auto root = make_task({{"type", "job"}});
  auto tasks = broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  CAF_REQUIRE(tasks.has_value());
  auto fork = record_sole_fork(*tasks, root, task_status::spawned);
  publish_unrecorded_and_redeliver(*conn, root);
  node.restart();
  REQUIRE_EVENT(root.uid, node);
  CAF_CHECK(node.wait_for_log("[" + root.uid + "] routed to " + fork.uid + " before"));
  CAF_CHECK_EQUAL(receivers(root.uid, "Finished"), names{"a"});
  CAF_CHECK(!tasks->get(pipeline::task_key(root)).has_value());
}

CAF_TEST(
    a redelivered root whose sole fork was queued without its record takes back the one it makes) {
  // The earlier attempt's record create was lost while its fork's publish
  // was stored. The record the redelivery creates could come after the
  // fork ran and its analysis was removed, so the router takes it back;
  // the fork's own records follow when it runs.
  node_process node{debug_routing_node("{ service_time_ms = 1000 }"), server.url()};
  CAF_REQUIRE(node.wait_for_log("running"));
  CAF_REQUIRE_EQUAL(node.stop(), 0);
  auto root = make_task({{"type", "job"}});
  auto fork = fork_for(root, "a");
  fork.sole_fork = true;
  CAF_REQUIRE(conn->js_publish(
      {pipeline::queue_subject("a", fork.priority), encode(fork), {}, fork.uid, std::nullopt},
      std::chrono::seconds{2}));
  publish_unrecorded_and_redeliver(*conn, root);
  node.restart();
  CAF_CHECK(node.wait_for_log("[" + root.uid + "] " + fork.uid +
                              " was queued before its record: record taken back"));
  REQUIRE_EVENT(root.uid, node);
  CAF_CHECK_EQUAL(receivers(root.uid, "Finished"), names{"a"});
}

CAF_TEST(a redelivered root whose sole fork ended is not routed again) {
  // Routed to one identity and run; only the root's ack was lost.
  node_process node{debug_routing_node(), server.url()};
  CAF_REQUIRE(node.wait_for_log("running"));
  CAF_REQUIRE_EQUAL(node.stop(), 0);
  auto root = make_task({{"type", "job"}});
  auto tasks = broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  CAF_REQUIRE(tasks.has_value());
  record_sole_fork(*tasks, root, task_status::finished);
  publish_unrecorded_and_redeliver(*conn, root);
  node.restart();
  CAF_CHECK(node.wait_for_log("[" + root.uid + "] already routed, acking the redelivery"));
  REQUIRE_EVENT(root.uid, node);
  CAF_CHECK_EQUAL(receivers(root.uid, "Finished"), names{"a"});
  CAF_CHECK_EQUAL(stored(pipeline::queues_stream), 0u);
  auto state = queue_state("a");
  CAF_REQUIRE(state.has_value());
  CAF_CHECK_EQUAL(state->num_ack_pending, 0u);
}

CAF_TEST(a graceful stop finishes in flight tasks and hands back the rest) {
  std::string toml = "[router]\ninstances = 1\n" +
                     consumer("work", R"([{type = "job"}])", "{ service_time_ms = 400 }", 2);
  node_process a{toml, server.url()};
  CAF_CHECK(a.wait_for_log("running"));
  std::vector<std::string> roots;
  for (int i = 0; i < 6; ++i)
    roots.push_back(send({{"type", "job"}, {"n", i}}));
  std::this_thread::sleep_for(std::chrono::milliseconds{200});
  CAF_CHECK_EQUAL(a.stop(), 0);
  // The two in flight finished and were acked before the node exited (the
  // work queue dropped them); the four waiting ones went back to the stream.
  CAF_CHECK_EQUAL(stored(pipeline::queues_stream), 4u);
  // Handed back, none stranded: all done well before the 30 s ack_wait.
  node_process b{toml, server.url()};
  CAF_CHECK_EQUAL(wait_all(roots, 15), roots.size());
}

CAF_TEST(a second signal hands in flight tasks back at once) {
  auto toml = [](int service_ms) {
    return "[router]\ninstances = 1\n" +
           consumer("work", R"([{type = "job"}])",
                    "{ service_time_ms = " + std::to_string(service_ms) + " }", 2);
  };
  node_process a{toml(20000), server.url()};
  CAF_CHECK(a.wait_for_log("running"));
  std::vector<std::string> roots{send({{"type", "job"}}), send({{"type", "job"}})};
  std::this_thread::sleep_for(std::chrono::milliseconds{500});
  a.signal(SIGTERM);
  CAF_CHECK(a.wait_for_log("stopping"));
  // The tasks need 20 s and the grace is 10 s: only the hand-back ends it soon.
  auto started = std::chrono::steady_clock::now();
  CAF_CHECK_EQUAL(a.stop(8), 0);
  CAF_CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds{8});
  CAF_CHECK(a.log_text().find("second signal: handing in-flight tasks back") != std::string::npos);
  // Handed back, not merely abandoned: another node gets them well before
  // the 30 s ack_wait would redeliver them.
  node_process b{toml(5), server.url()};
  CAF_CHECK_EQUAL(wait_all(roots, 10), roots.size());
}

CAF_TEST(send waits for the analysis and tells how it ended) {
  std::string toml = "[router]\ninstances = 1\n" +
                     consumer("fine", R"([{type = "fine"}])", "{ service_time_ms = 5 }") +
                     consumer("flaky", R"([{type = "flaky"}])", "{ crash_probability = 1.0 }") +
                     consumer("slow", R"([{type = "slow"}])", "{ service_time_ms = 3000 }");
  node_process node{toml, server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  auto send_cli = [&](const std::string& type, const std::string& wait, std::string& out) {
    return run_cli("send --set broker.urls=" + server.url() + " --header type=" + type +
                       " --wait=" + wait + " --json",
                   &out);
  };
  std::string out;
  CAF_CHECK_EQUAL(send_cli("fine", "30", out), 0);
  auto v = value::parse(out, nullptr, false);
  CAF_CHECK(v.value("done", false) && v.value("finished", -1) == 1 && v.value("crashed", -1) == 0);
  CAF_CHECK_EQUAL(send_cli("flaky", "30", out), 1);
  v = value::parse(out, nullptr, false);
  CAF_CHECK_EQUAL(v.value("crashed", -1), 1);
  CAF_CHECK_EQUAL(send_cli("slow", "1", out), 3);
  v = value::parse(out, nullptr, false);
  CAF_CHECK(!v.value("done", true));
}

CAF_TEST(a changed bind retires the replicas of the older one) {
  auto with_version = [](const std::string& version) {
    return "[router]\ninstances = 1\n" +
           consumer("work", R"([{type = "job"}])", "{ service_time_ms = 5 }") +
           "service_version = \"" + version + "\"\n";
  };
  node_process old_node{with_version("1"), server.url()};
  CAF_CHECK(old_node.wait_for_log("running"));
  node_process new_node{with_version("2"), server.url()};
  CAF_CHECK(new_node.wait_for_log("running"));
  CAF_CHECK(old_node.wait_for_log("bind replaced by node"));
  CAF_CHECK(old_node.log_text().find("service version \"2\"") != std::string::npos);
  std::vector<std::string> roots;
  for (int i = 0; i < 20; ++i)
    roots.push_back(send({{"type", "job"}, {"n", i}}));
  CAF_CHECK_EQUAL(wait_all(roots, 30), roots.size());
  // The new replica did not retire itself.
  CAF_CHECK(new_node.log_text().find("bind replaced") == std::string::npos);
}

CAF_TEST(a task listed as spawned whose record never comes does not hold the analysis) {
  node_process node{quick_housekeeping(consumer("work", R"([{type = "job"}])")), server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  // A finished task whose record lists a child that was never declared (a
  // removal cut short, or a record removed by hand): the housekeeper looks
  // the child up, finds nothing and announces the analysis without it.
  auto root = make_task({{"type", "job"}});
  auto t = fork_for(root, "work");
  t.status = task_status::finished;
  t.spawned = {new_uid()};
  root.status = task_status::finished; // routed
  root.spawned = {t.uid};
  auto tasks = broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  CAF_REQUIRE(tasks.has_value());
  CAF_REQUIRE(tasks->put(pipeline::task_key(root), encode(root)));
  CAF_REQUIRE(tasks->put(pipeline::task_key(t), encode(t)));
  REQUIRE_EVENT(t.root_uid, node);
  CAF_CHECK_EQUAL(receivers(t.root_uid, "Finished"), names{"work"});
}

CAF_TEST(a reopened analysis whose root record outlived the first round is announced again) {
  node_process node{quick_housekeeping(consumer("work", R"([{type = "job"}])")), server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  // A root recorded Crashed (kept for crashed_ttl) with a finished fork.
  auto root = make_task({{"type", "job"}});
  auto fork = fork_for(root, "work");
  fork.status = task_status::finished;
  root.status = task_status::crashed;
  root.spawned = {fork.uid};
  auto tasks = broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  CAF_REQUIRE(tasks.has_value());
  CAF_REQUIRE(tasks->put(pipeline::task_key(root), encode(root)));
  CAF_REQUIRE(tasks->put(pipeline::task_key(fork), encode(fork)));
  REQUIRE_EVENT(root.uid, node);
  // A task of the same analysis that finished later (a retry, say) opens a
  // second round. The feed does not deliver the root's record again; the
  // housekeeper reads it and announces the round.
  forget_event(root.uid);
  auto again = fork_for(make_task({{"type", "job"}}), "work");
  again.root_uid = root.uid;
  again.status = task_status::finished;
  CAF_REQUIRE(tasks->put(pipeline::task_key(again), encode(again)));
  REQUIRE_EVENT(root.uid, node);
  CAF_CHECK_EQUAL(receivers(root.uid, "Finished"), names{"work"});
}

CAF_TEST(a non persistent bind without live replicas is removed with its queue) {
  node_process keeper{"[router]\ninstances = 1\n[housekeeper]\ninterval = \"200ms\"\n"
                      "bind_offline_ttl = \"2s\"\n" +
                          consumer("steady", R"([{type = "other"}])"),
                      server.url()};
  CAF_CHECK(keeper.wait_for_log("running"));
  node_process temp{"[housekeeper]\nenabled = false\n" + consumer("temp", R"([{type = "job"}])") +
                        "persistent = false\n",
                    server.url()};
  CAF_CHECK(temp.wait_for_log("running"));
  CAF_CHECK_EQUAL(temp.stop(), 0);
  // Routed while the bind is still there, then stranded in the queue.
  auto root = send({{"type", "job"}});
  REQUIRE_EVENT(root, keeper);
  CAF_CHECK_EQUAL(receivers(root, "Crashed"), names{"temp"});
  CAF_CHECK(keeper.wait_for_log("removing non-persistent bind temp"));
  CAF_CHECK(keeper.wait_for_log("queue of temp emptied: 1 task(s)"));
  auto binds = broker::kv_bucket::open(conn, pipeline::binds_bucket);
  CAF_REQUIRE(binds.has_value());
  CAF_CHECK(!binds->get("temp").has_value());
  CAF_CHECK(binds->get("steady").has_value());
}

CAF_TEST_FIXTURE_SCOPE_END()
