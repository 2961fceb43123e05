// Periodic schedules: the pass over sy_schedules on a clock the test sets,
// against a real nats-server; then a node running them from the CLI.
#define CAF_SUITE integration.schedules
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/broker/stream_spec.hpp"
#include "runtime/pipeline/schedule_runner.hpp"
#include "runtime/task/uid.hpp"
#include "tests/integration/pipeline_fixture.hpp"

#include <thread>

using namespace sy;
using namespace sy::test;
using namespace std::chrono_literals;

namespace {

constexpr double t0 = 1'900'000'000; // a fixed "now" in 2030

struct schedule_fixture : pipeline_fixture {
  std::shared_ptr<broker::kv_bucket> bucket;

  schedule_fixture() {
    auto b = broker::kv_bucket::open(conn, pipeline::schedules_bucket);
    if (!b) CAF_FAIL(b.error().message);
    bucket = std::make_shared<broker::kv_bucket>(std::move(*b));
  }

  void store(const pipeline::schedule& s) {
    if (auto r = bucket->put(s.id, to_json(s).dump()); !r) CAF_FAIL(r.error().message);
  }

  pipeline::schedule load(const std::string& id) {
    auto e = bucket->get(id);
    if (!e) CAF_FAIL(e.error().message);
    return *pipeline::schedule_from_json(value::parse(e->value));
  }

  /// One pass at `now`, the jitter draw fixed at `draw`.
  pipeline::schedule_pass pass(double now, double draw = 0) {
    auto p = pipeline::run_due_schedules(*conn, *bucket, *producer, now, [draw] { return draw; });
    for (const auto& e : p.errors)
      CAF_MESSAGE("pass error: " << e);
    return p;
  }

  std::uint64_t unrouted() {
    auto n = pipeline::stored_tasks(*conn, pipeline::unrouted_stream);
    return n ? *n : 0;
  }

  static pipeline::schedule every_minute(const std::string& id) {
    pipeline::schedule s;
    s.id = id;
    s.headers = {{"type", "scan"}, {"target", id}};
    s.every = 60;
    s.next_run = t0;
    return s;
  }
};

using ids = std::vector<std::string>;

} // namespace

CAF_TEST_FIXTURE_SCOPE(schedule_tests, schedule_fixture)

CAF_TEST(an interval schedule sends its blueprint when due and then every interval) {
  store(every_minute("hourly"));
  CAF_CHECK_EQUAL(pass(t0 - 1).sent, ids{});
  CAF_CHECK_EQUAL(pass(t0).sent, ids{"hourly"});
  CAF_CHECK_EQUAL(unrouted(), 1u);
  auto s = load("hourly");
  CAF_CHECK_EQUAL(s.next_run, t0 + 60);
  CAF_CHECK_EQUAL(s.sent, 1u);
  CAF_CHECK(is_uid(s.last_root));
  CAF_CHECK_EQUAL(pass(t0 + 30).sent, ids{});
  CAF_CHECK_EQUAL(pass(t0 + 61).sent, ids{"hourly"});
  CAF_CHECK_EQUAL(unrouted(), 2u);
  CAF_CHECK_NOT_EQUAL(load("hourly").last_root, s.last_root);
  // The task is the blueprint, waiting for a router (a root is recorded
  // once it is routed).
  auto sent = broker::last_message_data(*conn, pipeline::unrouted_stream,
                                        pipeline::unrouted_subject(priority::normal));
  CAF_REQUIRE(sent && sent->has_value());
  auto t = decode_task(**sent);
  CAF_REQUIRE(t.has_value());
  CAF_CHECK_EQUAL(t->uid, load("hourly").last_root);
  CAF_CHECK_EQUAL(t->headers, (value{{"type", "scan"}, {"target", "hourly"}}));
}

CAF_TEST(a schedule that fell behind runs once and keeps its pace from now) {
  store(every_minute("behind"));
  CAF_CHECK_EQUAL(pass(t0 + 1000).sent, ids{"behind"});
  CAF_CHECK_EQUAL(load("behind").next_run, t0 + 1060);
  CAF_CHECK_EQUAL(pass(t0 + 1001).sent, ids{});
}

CAF_TEST(jitter delays the next run by the drawn share) {
  auto s = every_minute("jittery");
  s.jitter = 10;
  store(s);
  CAF_CHECK_EQUAL(pass(t0, 0.5).sent, ids{"jittery"});
  CAF_CHECK_EQUAL(load("jittery").next_run, t0 + 65);
}

CAF_TEST(a run is skipped while the last analysis finished within the grace period) {
  auto s = every_minute("graceful");
  s.grace = 3600;
  s.last_root = new_uid();
  store(s);
  // The previous run's analysis completed 10 minutes before t0.
  broker::outgoing_message event;
  event.subject = pipeline::analysis_event_subject(s.last_root);
  event.data = value{{"root_uid", s.last_root}, {"completed_at", t0 - 600}}.dump();
  CAF_REQUIRE(conn->js_publish(event, 5s).has_value());
  auto p = pass(t0);
  CAF_CHECK_EQUAL(p.sent, ids{});
  CAF_CHECK_EQUAL(p.skipped, ids{"graceful"});
  CAF_CHECK_EQUAL(load("graceful").skipped, 1u);
  CAF_CHECK_EQUAL(unrouted(), 0u);
  // An hour after the completion it runs again.
  CAF_CHECK_EQUAL(pass(t0 + 3060).sent, ids{"graceful"});
}

CAF_TEST(a disabled schedule does not run) {
  auto s = every_minute("off");
  s.enabled = false;
  store(s);
  CAF_CHECK_EQUAL(pass(t0 + 100).sent, ids{});
  CAF_CHECK_EQUAL(unrouted(), 0u);
}

CAF_TEST(the same run sent twice is stored once) {
  // Two leaders for a moment, or a pass that died before recording the run:
  // both send the run of the same planned time.
  auto s = every_minute("twice");
  store(s);
  CAF_CHECK_EQUAL(pass(t0).sent, ids{"twice"});
  store(s); // the record as the second sender read it
  CAF_CHECK_EQUAL(pass(t0 + 1).sent, ids{"twice"});
  CAF_CHECK_EQUAL(unrouted(), 1u);
}

CAF_TEST(a cron schedule runs at its times) {
  pipeline::schedule s;
  s.id = "nightly";
  s.headers = {{"type", "scan"}};
  s.cron = "30 2 * * *";
  s.next_run = *pipeline::next_run_after(s, t0); // 2030-03-17 08:46:40 UTC
  store(s);
  CAF_CHECK_EQUAL(pass(s.next_run - 1).sent, ids{});
  CAF_CHECK_EQUAL(pass(s.next_run).sent, ids{"nightly"});
  CAF_CHECK_EQUAL(load("nightly").next_run, s.next_run + 86400);
}

CAF_TEST(a node runs schedules made with the cli and they survive its restart) {
  std::string toml = "[router]\ninstances = 1\n[housekeeper]\ninterval = \"1s\"\n" +
                     consumer("scanner", R"([{type = "scan"}])");
  auto cli = [&](const std::string& args, std::string* out = nullptr) {
    return run_cli(args + " --set broker.urls=" + server.url() + " 2>&1", out);
  };
  auto sent = [&] { return load("tick").sent; };
  std::string out;
  {
    node_process node{toml, server.url()};
    CAF_CHECK(node.wait_for_log("running"));
    CAF_CHECK_EQUAL(cli("schedule add tick --every 1s -H type=scan -H target=example.org", &out),
                    0);
    CAF_MESSAGE(out);
    CAF_CHECK(node.wait_for_log("[schedule tick] sent"));
    for (int i = 0; i < 100 && sent() < 3; ++i)
      std::this_thread::sleep_for(100ms);
    CAF_CHECK_GREATER_OR_EQUAL(sent(), 3u);
    // Each run is an analysis of its own that completes.
    CAF_CHECK(wait_event(load("tick").last_root));
    CAF_CHECK_EQUAL(cli("schedule disable tick"), 0);
    std::this_thread::sleep_for(1500ms); // a run may have been under way
    auto frozen = sent();
    std::this_thread::sleep_for(2500ms);
    CAF_CHECK_EQUAL(sent(), frozen);
    CAF_CHECK_EQUAL(node.stop(15), 0);
  }
  CAF_CHECK_EQUAL(cli("schedule ls --json", &out), 0);
  auto listed = value::parse(out, nullptr, false);
  CAF_REQUIRE(listed.is_array() && listed.size() == 1);
  CAF_CHECK_EQUAL(listed[0].value("id", ""), "tick");
  CAF_CHECK_EQUAL(listed[0].value("enabled", true), false);
  {
    node_process node{toml, server.url()};
    CAF_CHECK(node.wait_for_log("running"));
    auto before = sent();
    CAF_CHECK_EQUAL(cli("schedule enable tick"), 0);
    for (int i = 0; i < 100 && sent() <= before; ++i)
      std::this_thread::sleep_for(100ms);
    CAF_CHECK_GREATER(sent(), before);
  }
  CAF_CHECK_EQUAL(cli("schedule rm tick"), 0);
  CAF_CHECK_EQUAL(cli("schedule rm tick", &out), 1);
  CAF_CHECK(out.find("no schedule \"tick\"") != std::string::npos);
  CAF_CHECK_EQUAL(cli("schedule add bad --every 1s --cron \"* * * * *\" -H type=scan", &out), 2);
  CAF_CHECK_EQUAL(cli("schedule add bad --cron \"61 * * * *\" -H type=scan", &out), 2);
  CAF_CHECK(out.find("minute") != std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()
