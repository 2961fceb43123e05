#define CAF_SUITE integration.api
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "tests/integration/pipeline_fixture.hpp"

#include <httplib.h>
#include <regex>
#include <set>
#include <thread>

using namespace sy;
using namespace sy::test;
using namespace std::chrono_literals;

namespace {

/// A node serving the API on a port it picks, with an external identity
/// `runner` (type=sample) and a synthetic consumer `crasher` (type=crash)
/// whose every task crashes.
std::string api_node(const std::string& api_keys = "") {
  return R"(
[api]
listen = "127.0.0.1:0"
max_body = 4096
)" + api_keys +
         R"(
[[consumer]]
identity = "runner"
plugin = "sy.external"
filters = [ { type = "sample" } ]
concurrency = 8
lease = "2s"
)" + pipeline_fixture::consumer("crasher", R"([{type = "crash"}])", "{ crash_probability = 1.0 }");
}

struct reply {
  int status = 0;
  value json;
  std::string text;
  std::string content_type;
};

} // namespace

struct api_fixture : pipeline_fixture {
  std::unique_ptr<node_process> node;
  int port = 0;
  std::string token;

  void start(const std::string& api_keys = "") {
    node = std::make_unique<node_process>(api_node(api_keys), server.url());
    if (!node->wait_for_log("running")) CAF_FAIL("node did not start:\n" << node->log_text());
    std::smatch m;
    auto log = node->log_text();
    if (!std::regex_search(log, m, std::regex{R"(dashboard on http://127\.0\.0\.1:(\d+)/)"}))
      CAF_FAIL("no API address in the log:\n" << log);
    port = std::stoi(m[1]);
  }

  reply call(const std::string& method, const std::string& path, const std::string& body = "") {
    httplib::Client client{"127.0.0.1", port};
    client.set_read_timeout(20, 0);
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    auto r = method == "GET"     ? client.Get(path, headers)
             : method == "POST"  ? client.Post(path, headers, body, "application/json")
             : method == "PATCH" ? client.Patch(path, headers, body, "application/json")
                                 : client.Delete(path, headers, body, "application/json");
    if (!r) CAF_FAIL(method << " " << path << ": " << httplib::to_string(r.error()));
    reply out{r->status, value::parse(r->body, nullptr, false), r->body,
              r->get_header_value("Content-Type")};
    return out;
  }

  /// An error reply must carry {"error": "..."} naming what went wrong.
  bool is_error(const reply& r, int status, const std::string& part = "") {
    bool ok = r.status == status && r.json.is_object() && r.json.contains("error") &&
              r.json["error"].get<std::string>().find(part) != std::string::npos;
    if (!ok)
      CAF_MESSAGE("expected " << status << " with \"" << part << "\", got " << r.status << " "
                              << r.text);
    return ok;
  }

  /// Pops until `n` tasks were handed out or 15 s passed.
  std::vector<value> pop_n(std::size_t n) {
    std::vector<value> out;
    for (int i = 0; i < 150 && out.size() < n; ++i) {
      auto r = call("POST", "/api/queues/runner/pop?limit=" + std::to_string(n - out.size()));
      CAF_REQUIRE_EQUAL(r.status, 200);
      for (const auto& t : r.json["tasks"])
        out.push_back(t);
      if (out.size() < n) std::this_thread::sleep_for(100ms);
    }
    return out;
  }

  value post_task(const value& headers) {
    auto r = call("POST", "/api/tasks", value{{"headers", headers}}.dump());
    CAF_REQUIRE_EQUAL(r.status, 201);
    return r.json;
  }

  /// Polls GET `path` until `ready(json)` or 15 s.
  template <class Pred> reply poll(const std::string& path, Pred ready) {
    reply r;
    for (int i = 0; i < 150; ++i) {
      r = call("GET", path);
      if (ready(r)) break;
      std::this_thread::sleep_for(100ms);
    }
    return r;
  }
};

CAF_TEST_FIXTURE_SCOPE(api_tests, api_fixture)

CAF_TEST(errors are JSON with the right status) {
  start();
  CAF_CHECK(is_error(call("GET", "/api/nothing"), 404, "no route GET /api/nothing"));
  CAF_CHECK(is_error(call("POST", "/api/tasks", "{not json"), 400, "not JSON"));
  CAF_CHECK(is_error(call("POST", "/api/tasks", "[1]"), 400, "JSON object"));
  CAF_CHECK(is_error(call("POST", "/api/tasks", R"({"payload": {}})"), 400, "headers"));
  CAF_CHECK(
      is_error(call("POST", "/api/tasks", R"({"headers": {"a": [1]}})"), 400, "header \"a\""));
  CAF_CHECK(is_error(call("POST", "/api/tasks", R"({"headers": {"a": "b"}, "priority": "urgent"})"),
                     400, "priority"));
  CAF_CHECK(is_error(call("POST", "/api/tasks", std::string(5000, ' ')), 413, "max_body"));
  CAF_CHECK(is_error(call("GET", "/api/tasks/no-such-task"), 404, "no record of task"));
  CAF_CHECK(is_error(call("GET", "/api/tasks/a.b"), 400, "not a task uid"));
  CAF_CHECK(is_error(call("GET", "/api/analyses/no-such-root"), 404, "no records of analysis"));
  CAF_CHECK(is_error(call("GET", "/api/queues/nobody"), 404, "no bind for identity nobody"));
  CAF_CHECK(is_error(call("GET", "/api/queues/runner?limit=0"), 400, "limit"));
  CAF_CHECK(is_error(call("GET", "/api/queues/runner?limit=x"), 400, "limit"));
  CAF_CHECK(is_error(call("GET", "/api/queues/runner?pending_after=-1"), 400, "pending_after"));
  CAF_CHECK(is_error(call("POST", "/api/queues/crasher/pop"), 404, "no external identity"));
  CAF_CHECK(is_error(call("POST", "/api/tasks/x/retry"), 404, "no record of task x"));
  CAF_CHECK(is_error(call("PATCH", "/api/tasks/x", R"({"status": "Finished"})"), 400, "lease"));
  CAF_CHECK(is_error(call("PATCH", "/api/tasks/x", R"({"lease": "l", "status": "Done"})"), 400,
                     "status"));
  CAF_CHECK(is_error(call("PATCH", "/api/tasks/x", R"({"lease": "l", "status": "Finished"})"), 409,
                     "no live lease"));
  auto health = call("GET", "/health");
  CAF_CHECK_EQUAL(health.status, 200);
  CAF_CHECK(health.json.value("status", "") == "ok");
  auto page = call("GET", "/");
  CAF_CHECK_EQUAL(page.status, 200);
  CAF_CHECK(page.content_type.find("text/html") == 0);
  CAF_CHECK(page.text.find("switchyard") != std::string::npos);
}

CAF_TEST(a bearer token guards everything but health and the page) {
  start("token = \"s3cret\"\n");
  CAF_CHECK(is_error(call("GET", "/api/queues"), 401, "Bearer"));
  CAF_CHECK(is_error(call("GET", "/metrics"), 401, "Bearer"));
  token = "wrong";
  CAF_CHECK(is_error(call("GET", "/api/queues"), 401, "Bearer"));
  token = "";
  CAF_CHECK(call("GET", "/health").status == 200);
  CAF_CHECK(call("GET", "/").status == 200);
  token = "s3cret";
  CAF_CHECK(call("GET", "/api/queues").status == 200);
}

CAF_TEST(external workers pop leased tasks and report them) {
  start();
  auto root = post_task({{"type", "sample"}, {"n", 1}})["uid"].get<std::string>();
  auto popped = pop_n(1);
  CAF_REQUIRE_EQUAL(popped.size(), 1u);
  auto task = popped[0]["task"];
  auto uid = task["uid"].get<std::string>();
  auto lease = popped[0]["lease"].get<std::string>();
  CAF_CHECK_EQUAL(task["root_uid"], root);
  CAF_CHECK_EQUAL(task["receiver"], "runner");
  CAF_CHECK_EQUAL(task["status"], "Started");
  CAF_CHECK(popped[0]["lease_expires_at"].get<double>() > unix_now());
  CAF_CHECK(call("GET", "/api/tasks/" + uid).json["status"] == "Started");
  // Nothing else is waiting.
  CAF_CHECK(call("POST", "/api/queues/runner/pop?limit=5").json["tasks"].empty());
  CAF_CHECK(is_error(
      call("PATCH", "/api/tasks/" + uid, value{{"lease", "other"}, {"status", "Finished"}}.dump()),
      409, "no live lease"));
  auto extended =
      call("PATCH", "/api/tasks/" + uid, value{{"lease", lease}, {"status", "Started"}}.dump());
  CAF_CHECK_EQUAL(extended.status, 200);
  CAF_CHECK(extended.json.value("lease_expires_at", 0.0) > unix_now());
  CAF_CHECK(is_error(call("PATCH", "/api/tasks/" + uid,
                          value{{"lease", lease},
                                {"status", "Crashed"},
                                {"children", {{{"headers", {{"type", "x"}}}}}}}
                              .dump()),
                     400, "only a Finished task"));
  // Finished, with a child the routers send back to this same identity.
  value child{{"headers", {{"type", "sample"}, {"n", 2}}}, {"payload", {{"from", uid}}}};
  auto done = call("PATCH", "/api/tasks/" + uid,
                   value{{"lease", lease}, {"status", "Finished"}, {"children", {child}}}.dump());
  CAF_CHECK_EQUAL(done.status, 200);
  CAF_CHECK(is_error(
      call("PATCH", "/api/tasks/" + uid, value{{"lease", lease}, {"status", "Finished"}}.dump()),
      409, "no live lease"));
  auto second = pop_n(1);
  CAF_REQUIRE_EQUAL(second.size(), 1u);
  CAF_CHECK_EQUAL(second[0]["task"]["root_uid"], root);
  CAF_CHECK_EQUAL(second[0]["task"]["headers"]["n"], 2);
  CAF_CHECK_EQUAL(second[0]["task"]["payload"]["from"], uid);
  auto tree = call("GET", "/api/analyses/" + root);
  CAF_CHECK_EQUAL(tree.status, 200);
  std::set<std::string> uids;
  for (const auto& t : tree.json["tasks"])
    uids.insert(t["uid"].get<std::string>());
  CAF_CHECK(uids.count(uid) == 1 && uids.count(second[0]["task"]["uid"]) == 1);
  CAF_CHECK(call("PATCH", "/api/tasks/" + second[0]["task"]["uid"].get<std::string>(),
                 value{{"lease", second[0]["lease"]}, {"status", "Finished"}}.dump())
                .status == 200);
  CAF_CHECK(wait_event(root));
  CAF_CHECK_EQUAL(receivers(root, "Finished").count("runner"), 2u);
}

CAF_TEST(an expired lease goes back to the queue and its late report is refused) {
  start();
  post_task({{"type", "sample"}});
  auto first = pop_n(1);
  CAF_REQUIRE_EQUAL(first.size(), 1u);
  auto uid = first[0]["task"]["uid"].get<std::string>();
  // The lease is 2 s; the task comes back after it and the hand-back delay.
  auto again = pop_n(1);
  CAF_REQUIRE_EQUAL(again.size(), 1u);
  CAF_CHECK_EQUAL(again[0]["task"]["uid"], uid);
  CAF_CHECK_EQUAL(again[0]["task"]["attempt"], 2);
  CAF_CHECK(again[0]["lease"] != first[0]["lease"]);
  CAF_CHECK(is_error(call("PATCH", "/api/tasks/" + uid,
                          value{{"lease", first[0]["lease"]}, {"status", "Finished"}}.dump()),
                     409, "no live lease"));
  CAF_CHECK(call("PATCH", "/api/tasks/" + uid,
                 value{{"lease", again[0]["lease"]}, {"status", "Finished"}}.dump())
                .status == 200);
}

CAF_TEST(concurrent workers never get the same task) {
  start();
  constexpr int tasks = 40;
  for (int i = 0; i < tasks; ++i)
    post_task({{"type", "sample"}, {"i", i}});
  std::mutex m;
  std::multiset<std::string> seen;
  std::string failure;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w)
    workers.emplace_back([&] {
      for (int round = 0; round < 200; ++round) {
        {
          std::lock_guard<std::mutex> g{m};
          if (seen.size() >= static_cast<std::size_t>(tasks)) return;
        }
        httplib::Client client{"127.0.0.1", port};
        auto r = client.Post("/api/queues/runner/pop?limit=3", "", "application/json");
        if (!r || r->status != 200) {
          std::lock_guard<std::mutex> g{m};
          failure = r ? r->body : httplib::to_string(r.error());
          continue;
        }
        auto body = value::parse(r->body);
        for (const auto& t : body["tasks"]) {
          auto uid = t["task"]["uid"].get<std::string>();
          client.Patch("/api/tasks/" + uid,
                       value{{"lease", t["lease"]}, {"status", "Finished"}}.dump(),
                       "application/json");
          std::lock_guard<std::mutex> g{m};
          seen.insert(uid);
        }
        std::this_thread::sleep_for(20ms);
      }
    });
  for (auto& w : workers)
    w.join();
  if (!failure.empty()) CAF_MESSAGE("a pop failed: " << failure);
  CAF_CHECK_EQUAL(seen.size(), static_cast<std::size_t>(tasks));
  CAF_CHECK_EQUAL(std::set<std::string>(seen.begin(), seen.end()).size(),
                  static_cast<std::size_t>(tasks));
}

CAF_TEST(queues page through pending and crashed tasks and repair them) {
  start();
  for (int i = 0; i < 7; ++i)
    post_task({{"type", "sample"}, {"i", i}});
  for (int i = 0; i < 3; ++i)
    post_task({{"type", "crash"}, {"i", i}});
  // Pending: 7 in three pages of at most 3, oldest first, no repeats.
  auto ready = poll("/api/queues/runner?limit=10", [](const reply& r) {
    return r.status == 200 && r.json["pending"]["tasks"].size() == 7;
  });
  CAF_REQUIRE_EQUAL(ready.json["pending"]["tasks"].size(), 7u);
  std::vector<int> order;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    auto r = call("GET", "/api/queues/runner?limit=3&pending_after=" + cursor);
    CAF_REQUIRE_EQUAL(r.status, 200);
    for (const auto& t : r.json["pending"]["tasks"])
      order.push_back(t["headers"]["i"].get<int>());
    if (r.json["pending"]["next"].is_null()) break;
    cursor = r.json["pending"]["next"].get<std::string>();
  }
  CAF_CHECK_EQUAL(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
  CAF_CHECK_EQUAL(ready.json["queue"]["pending"], 7);
  // Crashed: the three, with their error, in pages of two.
  auto crashed = poll("/api/queues/crasher?limit=2", [](const reply& r) {
    return r.status == 200 && r.json["queue"]["crashed"] == 3;
  });
  CAF_REQUIRE_EQUAL(crashed.json["queue"]["crashed"], 3);
  CAF_REQUIRE_EQUAL(crashed.json["crashed"]["tasks"].size(), 2u);
  CAF_CHECK_EQUAL(crashed.json["crashed"]["tasks"][0]["error"], "synthetic crash");
  auto rest = call("GET", "/api/queues/crasher?limit=2&crashed_after=" +
                              crashed.json["crashed"]["next"].get<std::string>());
  CAF_REQUIRE_EQUAL(rest.json["crashed"]["tasks"].size(), 1u);
  CAF_CHECK(rest.json["crashed"]["next"].is_null());
  // Retry one: it crashes again (new uid), the old one leaves the list.
  auto first = crashed.json["crashed"]["tasks"][0]["uid"].get<std::string>();
  auto retried = call("POST", "/api/tasks/" + first + "/retry");
  CAF_CHECK_EQUAL(retried.status, 200);
  CAF_CHECK_EQUAL(retried.json["uid"], first);
  auto retry_uid = retried.json["retry_uid"].get<std::string>();
  CAF_CHECK(is_error(call("POST", "/api/tasks/" + first + "/retry"), 404, "no record"));
  auto after = poll("/api/queues/crasher", [&](const reply& r) {
    for (const auto& t : r.json["crashed"]["tasks"])
      if (t["uid"] == retry_uid) return true;
    return false;
  });
  std::set<std::string> listed;
  for (const auto& t : after.json["crashed"]["tasks"])
    listed.insert(t["uid"].get<std::string>());
  CAF_CHECK(listed.count(retry_uid) == 1 && listed.count(first) == 0);
  CAF_CHECK_EQUAL(after.json["queue"]["crashed"], 3);
  // Cancel: a waiting task is recorded Crashed; a crashed one is removed.
  auto waiting = ready.json["pending"]["tasks"][0]["uid"].get<std::string>();
  auto cancelled = call("POST", "/api/tasks/" + waiting + "/cancel");
  CAF_CHECK_EQUAL(cancelled.json.value("cancelled", false), true);
  auto record = call("GET", "/api/tasks/" + waiting).json;
  CAF_CHECK_EQUAL(record["status"], "Crashed");
  CAF_CHECK_EQUAL(record["error"], "cancelled by user");
  CAF_CHECK(call("GET", "/api/queues/runner").json["queue"]["crashed"] == 1);
  CAF_CHECK(call("POST", "/api/tasks/" + waiting + "/cancel").json.value("removed", false) == true);
  CAF_CHECK(is_error(call("GET", "/api/tasks/" + waiting), 404, "no record"));
  // All at once.
  auto all = call("POST", "/api/queues/crasher/retry-crashed");
  CAF_CHECK_EQUAL(all.status, 200);
  CAF_CHECK_EQUAL(all.json["retried"].size(), 3u);
  auto again = poll("/api/queues/crasher",
                    [](const reply& r) { return r.json["crashed"]["tasks"].size() == 3; });
  CAF_CHECK_EQUAL(again.json["crashed"]["tasks"].size(), 3u);
  auto removed = call("POST", "/api/queues/crasher/cancel-crashed");
  CAF_CHECK_EQUAL(removed.json["removed"], 3);
  CAF_CHECK(call("GET", "/api/queues/crasher").json["queue"]["crashed"] == 0);
  CAF_CHECK(call("GET", "/api/queues/crasher").json["crashed"]["tasks"].empty());
}

CAF_TEST(a cancelled task is never run and a running one ends cancelled) {
  start();
  auto queued_root = post_task({{"type", "sample"}, {"n", 1}})["uid"].get<std::string>();
  auto running_root = post_task({{"type", "sample"}, {"n", 2}})["uid"].get<std::string>();
  auto listed = poll("/api/queues/runner", [](const reply& r) {
    return r.status == 200 && r.json["pending"]["tasks"].size() == 2;
  });
  CAF_REQUIRE_EQUAL(listed.json["pending"]["tasks"].size(), 2u);
  std::string queued, running;
  for (const auto& t : listed.json["pending"]["tasks"])
    (t["root_uid"] == queued_root ? queued : running) = t["uid"].get<std::string>();
  // Cancel one while it waits: the worker never gets it.
  CAF_CHECK(call("POST", "/api/tasks/" + queued + "/cancel").json.value("cancelled", false));
  std::this_thread::sleep_for(500ms); // the cancellation reaches the node's scheduler
  auto popped = pop_n(1);
  CAF_REQUIRE_EQUAL(popped.size(), 1u);
  CAF_CHECK_EQUAL(popped[0]["task"]["uid"], running);
  CAF_CHECK(call("POST", "/api/queues/runner/pop?limit=5").json["tasks"].empty());
  // Cancel the other while it runs: its report cannot undo that.
  CAF_CHECK(call("POST", "/api/tasks/" + running + "/cancel").json.value("cancelled", false));
  std::this_thread::sleep_for(500ms);
  CAF_CHECK(call("PATCH", "/api/tasks/" + running,
                 value{{"lease", popped[0]["lease"]}, {"status", "Finished"}}.dump())
                .status == 200);
  CAF_REQUIRE(wait_event(queued_root));
  CAF_REQUIRE(wait_event(running_root));
  CAF_CHECK_EQUAL(receivers(queued_root, "Crashed").count("runner"), 1u);
  CAF_CHECK_EQUAL(receivers(running_root, "Crashed").count("runner"), 1u);
  for (const auto& uid : {queued, running}) {
    auto record = call("GET", "/api/tasks/" + uid).json;
    CAF_CHECK_EQUAL(record["status"], "Crashed");
    CAF_CHECK_EQUAL(record["error"], "cancelled by user");
  }
  // Both left the queue.
  auto after = poll("/api/queues/runner", [](const reply& r) {
    return r.json["pending"]["tasks"].empty() && r.json["queue"]["in_flight"] == 0;
  });
  CAF_CHECK(after.json["pending"]["tasks"].empty());
}

CAF_TEST(metrics are Prometheus text with counters gauges and histograms) {
  start();
  auto root = post_task({{"type", "crash"}})["uid"].get<std::string>();
  CAF_REQUIRE(wait_event(root));
  auto r = poll("/metrics", [](const reply& r) {
    return r.text.find("switchyard_tasks_crashed_total{node=") != std::string::npos &&
           r.text.find("identity=\"crasher\"} 1") != std::string::npos;
  });
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK(r.content_type.find("text/plain") == 0);
  for (auto line :
       {"# TYPE switchyard_queue_pending gauge", "switchyard_queue_pending{identity=\"runner\"} 0",
        "switchyard_queue_crashed{identity=\"crasher\"} 1",
        "switchyard_queue_replicas{identity=\"runner\"} 8",
        "# TYPE switchyard_tasks_crashed_total counter",
        "# TYPE switchyard_processing_seconds histogram", "le=\"+Inf\"} 1",
        "switchyard_nodes_live 1"})
    if (r.text.find(line) == std::string::npos) CAF_FAIL("no \"" << line << "\" in\n" << r.text);
}

CAF_TEST(schedules are created listed changed and removed) {
  start();
  value s{{"id", "nightly"}, {"headers", {{"type", "sample"}}}, {"cron", "0 3 * * *"}};
  auto made = call("POST", "/api/schedules", s.dump());
  CAF_CHECK_EQUAL(made.status, 201);
  CAF_CHECK_EQUAL(made.json["id"], "nightly");
  CAF_CHECK(made.json["next_run"].get<double>() > unix_now());
  CAF_CHECK(is_error(call("POST", "/api/schedules", s.dump()), 409, "exists"));
  s["id"] = "both";
  s["every"] = 60;
  CAF_CHECK(is_error(call("POST", "/api/schedules", s.dump()), 400, "exactly one"));
  CAF_CHECK(call("GET", "/api/schedules").json["schedules"].size() == 1u);
  auto changed = call("PATCH", "/api/schedules/nightly", R"({"enabled": false})");
  CAF_CHECK_EQUAL(changed.status, 200);
  CAF_CHECK_EQUAL(changed.json["enabled"], false);
  CAF_CHECK(call("GET", "/api/schedules").json["schedules"][0]["enabled"] == false);
  CAF_CHECK(is_error(call("PATCH", "/api/schedules/none", "{}"), 404, "no schedule"));
  CAF_CHECK(
      is_error(call("PATCH", "/api/schedules/nightly", R"({"every": "soon"})"), 400, "wrong type"));
  CAF_CHECK(call("DELETE", "/api/schedules/nightly").json["removed"] == true);
  CAF_CHECK(is_error(call("DELETE", "/api/schedules/nightly"), 404, "no schedule"));
}

CAF_TEST_FIXTURE_SCOPE_END()
