#define CAF_SUITE integration.logs
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/broker/subscription.hpp"
#include "runtime/pipeline/log_publisher.hpp"
#include "tests/integration/pipeline_fixture.hpp"

#include <functional>
#include <spdlog/logger.h>
#include <thread>

using namespace sy;
using namespace sy::test;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// The records whose message contains `part`.
std::vector<value> with_message(const std::vector<value>& records, const std::string& part) {
  std::vector<value> out;
  for (const auto& r : records)
    if (contains(r.value("message", ""), part)) out.push_back(r);
  return out;
}

} // namespace

/// Nodes log into SY_LOGS; `switchyard logs` reads it back.
struct logs_fixture : pipeline_fixture {
  /// Runs `switchyard ARGS --set broker.urls=...`; stdout goes to `out`.
  int cli(const std::string& args, std::string& out) {
    return run_cli(args + " --set broker.urls=" + server.url(), &out);
  }

  /// Runs `switchyard logs ARGS --json` and parses its lines.
  std::vector<value> logs(const std::string& args) {
    std::string out;
    CAF_CHECK_EQUAL(cli("logs " + args + " --json", out), 0);
    std::vector<value> records;
    std::istringstream lines{out};
    for (std::string line; std::getline(lines, line);) {
      records.push_back(value::parse(line, nullptr, false));
      CAF_CHECK(records.back().is_object());
    }
    return records;
  }

  /// `logs(args)` again until `ready` holds (nodes publish asynchronously)
  /// or 10 s passed.
  std::vector<value> logs_until(const std::string& args,
                                const std::function<bool(const std::vector<value>&)>& ready) {
    auto records = logs(args);
    for (int i = 0; i < 50 && !ready(records); ++i) {
      std::this_thread::sleep_for(200ms);
      records = logs(args);
    }
    return records;
  }

  /// Publishes a record as a node would, to `sy.logs.<level>.<identity token>`.
  void publish_record(const std::string& level, const std::string& identity,
                      const std::string& message) {
    value r = {
        {"time", std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                     .count()},
        {"level", level},
        {"logger", identity.empty() ? "node" : "consumer." + identity},
        {"node", "test"},
        {"identity", identity},
        {"message", message}};
    CAF_REQUIRE(conn->publish(pipeline::log_subject(level, identity), r.dump()));
  }

  /// Waits until SY_LOGS holds `n` messages.
  bool wait_stored(std::uint64_t n) {
    (void)conn->flush(5s);
    for (int i = 0; i < 100; ++i) {
      auto st = broker::stream_info(*conn, pipeline::logs_stream);
      if (st && st->messages >= n) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
};

CAF_TEST_FIXTURE_SCOPE(logs_tests, logs_fixture)

CAF_TEST(logs replays what consumers logged filtered by identity and level) {
  node_process node{"[router]\ninstances = 1\n" +
                        consumer("work", R"([{type = "sample"}])",
                                 R"({ log = { info = "looked at the sample", )"
                                 R"(warn = "sample looks odd" } })") +
                        consumer("other.team", R"([{type = "sample"}])", R"({ log = "other" })"),
                    server.url()};
  CAF_REQUIRE(node.wait_for_log("running"));
  // One after the other, so that their records are stored in this order.
  std::vector<std::string> roots;
  for (int i = 0; i < 3; ++i) {
    roots.push_back(send({{"type", "sample"}}));
    CAF_REQUIRE(wait_event(roots.back()));
  }
  auto work = logs_until("--identity work", [](const std::vector<value>& rs) {
    return with_message(rs, "sample looks odd").size() == 3;
  });
  auto looked = with_message(work, "looked at the sample");
  auto odd = with_message(work, "sample looks odd");
  CAF_REQUIRE_EQUAL(looked.size(), 3u);
  CAF_REQUIRE_EQUAL(odd.size(), 3u);
  CAF_CHECK_EQUAL(looked[0].value("level", ""), "info");
  CAF_CHECK_EQUAL(looked[0].value("logger", ""), "consumer.work");
  CAF_CHECK_EQUAL(looked[0].value("identity", ""), "work");
  CAF_CHECK(!looked[0].value("node", "").empty());
  CAF_CHECK(contains(looked[0].value("message", ""), roots[0])); // ctx.log tags the task
  auto age =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() -
      looked[0].value("time", 0.0);
  CAF_CHECK(age >= 0 && age < 60);
  CAF_CHECK_EQUAL(odd[0].value("level", ""), "warn"); // our name, not spdlog's "warning"
  for (const auto& r : work) // --identity keeps only that identity's records
    CAF_CHECK_EQUAL(r.value("identity", "?"), "work");

  // --level keeps that level and above.
  auto warn = logs("--identity work --level warn");
  CAF_CHECK_EQUAL(with_message(warn, "sample looks odd").size(), 3u);
  CAF_CHECK(with_message(warn, "looked at the sample").empty());
  for (const auto& r : warn)
    CAF_CHECK(r.value("level", "") == "warn" || r.value("level", "") == "error" ||
              r.value("level", "") == "critical");
  auto error = logs("--identity work --level error");
  CAF_CHECK(with_message(error, "sample looks odd").empty());
  CAF_CHECK(with_message(error, "looked at the sample").empty());

  // An identity with a dot has a subject token of its own.
  auto other = logs("--identity other.team");
  CAF_CHECK_EQUAL(with_message(other, "] other").size(), 3u);
  CAF_CHECK(with_message(other, "sample looks odd").empty());
  if (!other.empty()) CAF_CHECK_EQUAL(other[0].value("identity", ""), "other.team");

  // --last N: the newest N that pass the filters, oldest first.
  auto last = logs("--identity work --level warn --last 2");
  CAF_REQUIRE_EQUAL(last.size(), 2u);
  CAF_CHECK(contains(last[0].value("message", ""), roots[1]));
  CAF_CHECK(contains(last[1].value("message", ""), roots[2]));

  // Without --identity the node's own records are there too; the text form
  // has one line per record.
  std::string out;
  CAF_CHECK_EQUAL(cli("logs", out), 0);
  CAF_CHECK(contains(out, "leading the housekeeping"));
  CAF_CHECK(contains(out, " warn  "));
  CAF_CHECK(contains(out, "[consumer.work] ["));
}

CAF_TEST(bad arguments are usage errors) {
  std::string out;
  CAF_CHECK_EQUAL(cli("logs --level loud", out), 2);
  CAF_CHECK_EQUAL(cli("logs --level off", out), 2);
  CAF_CHECK_EQUAL(cli("logs --since soon", out), 2);
  CAF_CHECK_EQUAL(cli("logs --identity Work", out), 2);
  CAF_CHECK_EQUAL(cli("logs --last 2 --since 1h", out), 2);
  CAF_CHECK_EQUAL(cli("logs --last -1", out), 2);
  // No broker: exit 2 as every other command (README "Exit codes").
  CAF_CHECK_EQUAL(run_cli("logs --set broker.urls=nats://127.0.0.1:1", &out), 2);
}

CAF_TEST(the last N records are found behind many newer ones) {
  publish_record("info", "work", "needle");
  for (int i = 0; i < 3000; ++i)
    publish_record("debug", "", "filler " + std::to_string(i));
  CAF_REQUIRE(wait_stored(3001));
  // Found beyond the first tail read (1024 messages).
  auto needle = logs("--identity work --last 1");
  CAF_REQUIRE_EQUAL(needle.size(), 1u);
  CAF_CHECK_EQUAL(needle[0].value("message", ""), "needle");
  // Fewer than N pass the level filter: all of them.
  auto info = logs("--level info --last 5");
  CAF_REQUIRE_EQUAL(info.size(), 1u);
  CAF_CHECK_EQUAL(info[0].value("message", ""), "needle");
  auto newest = logs("--last 2");
  CAF_REQUIRE_EQUAL(newest.size(), 2u);
  CAF_CHECK_EQUAL(newest[0].value("message", ""), "filler 2998");
  CAF_CHECK_EQUAL(newest[1].value("message", ""), "filler 2999");
  CAF_CHECK(logs("--last 0").empty());
  // The default: every record of the last hour, oldest first.
  auto all = logs("");
  CAF_REQUIRE_EQUAL(all.size(), 3001u);
  CAF_CHECK_EQUAL(all.front().value("message", ""), "needle");
  CAF_CHECK_EQUAL(all.back().value("message", ""), "filler 2999");
}

CAF_TEST(following prints new records until interrupted) {
  publish_record("info", "work", "stored before");
  CAF_REQUIRE(wait_stored(1));
  std::string out;
  int code = -1;
  std::thread follower{[&] {
    code = run_cli_interrupted(
        "logs --follow --identity work --json --set broker.urls=" + server.url(), 4, &out);
  }};
  // Later than a replay without --follow would have ended.
  std::this_thread::sleep_for(2500ms);
  publish_record("warn", "work", "logged while following");
  publish_record("warn", "", "another identity");
  (void)conn->flush(2s);
  follower.join();
  CAF_CHECK_EQUAL(code, 0);
  CAF_CHECK(contains(out, "stored before"));
  CAF_CHECK(contains(out, "logged while following"));
  CAF_CHECK(!contains(out, "another identity"));
  CAF_CHECK(out.find("stored before") < out.find("logged while following"));
}

CAF_TEST(the publisher stores records by level and identity and drops what does not fit) {
  pipeline::log_publisher_options opts;
  opts.connection.urls = {server.url()};
  opts.node = "node-t";
  opts.capacity = 100;
  auto publisher = pipeline::log_publisher::start(opts);
  CAF_REQUIRE(publisher);
  auto& p = **publisher;
  std::mutex mutex;
  std::vector<std::string> subjects;
  auto seen = conn->subscribe("sy.logs.>", [&](broker::message m) {
    std::lock_guard<std::mutex> guard{mutex};
    subjects.emplace_back(m.subject());
  });
  CAF_REQUIRE(seen);
  (void)conn->flush(2s);
  spdlog::logger consumer{"consumer.a.b", p.sink()};
  spdlog::logger node{"router", p.sink()};
  consumer.set_level(spdlog::level::trace);
  consumer.warn("careful");
  node.error("broken");
  node.critical("bad \xff bytes"); // invalid UTF-8 is replaced, not thrown about
  CAF_REQUIRE(wait_stored(3));
  {
    std::lock_guard<std::mutex> guard{mutex};
    CAF_CHECK_EQUAL(subjects.size(), 3u);
    if (subjects.size() == 3) {
      CAF_CHECK_EQUAL(subjects[0], "sy.logs.warn.a~b");
      CAF_CHECK_EQUAL(subjects[1], "sy.logs.error._node");
      CAF_CHECK_EQUAL(subjects[2], "sy.logs.critical._node");
    }
  }
  CAF_CHECK_EQUAL(p.stats().published, 3u);
  CAF_CHECK_EQUAL(p.stats().dropped, 0u);

  // The broker is away: logging goes on at full speed, the queue fills and
  // the rest is counted as dropped.
  server.stop();
  for (int i = 0; i < 50 && conn->is_connected(); ++i)
    std::this_thread::sleep_for(50ms);
  std::this_thread::sleep_for(200ms); // the publisher's connection noticed too
  auto began = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i)
    consumer.info("while away {}", i);
  CAF_CHECK(std::chrono::steady_clock::now() - began < 1s);
  CAF_CHECK_EQUAL(p.stats().dropped, 900u);
  CAF_REQUIRE(server.restart());
  // Once reconnected, the 100 that waited are published.
  for (int i = 0; i < 100 && p.stats().published < 103; ++i)
    std::this_thread::sleep_for(100ms);
  CAF_CHECK_EQUAL(p.stats().published, 103u);
  CAF_CHECK(wait_stored(103));
}

CAF_TEST_FIXTURE_SCOPE_END()
