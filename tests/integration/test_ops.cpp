#define CAF_SUITE integration.ops
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/broker/stream_spec.hpp"
#include "runtime/task/uid.hpp"
#include "tests/integration/pipeline_fixture.hpp"

#include <thread>

using namespace sy;
using namespace sy::test;

namespace {

/// A node with a router and one synthetic consumer `identity`.
std::string one_consumer(const std::string& identity, const std::string& config) {
  return "[router]\ninstances = 1\n" +
         pipeline_fixture::consumer(identity, R"([{type = "sample"}])", config);
}

} // namespace

/// The operations commands run against the fixture's broker.
struct ops_fixture : pipeline_fixture {
  /// Runs `switchyard ARGS --set broker.urls=...`; stdout goes to `out`.
  int cli(const std::string& args, std::string& out) {
    return run_cli(args + " --set broker.urls=" + server.url(), &out);
  }

  /// Runs a command with `--json` and parses what it printed.
  value cli_json(const std::string& args, int expected_code = 0) {
    std::string out;
    auto code = cli(args + " --json", out);
    CAF_CHECK_EQUAL(code, expected_code);
    return value::parse(out, nullptr, false);
  }

  /// The `list --json` row of `identity`, polled until `ready` holds
  /// (heartbeats are written asynchronously) or 10 s passed.
  template <class Predicate> value list_row(const std::string& identity, Predicate ready) {
    value row;
    for (int i = 0; i < 50; ++i) {
      row = nullptr;
      auto listing = cli_json("list");
      for (const auto& r : listing["identities"])
        if (r.value("identity", "") == identity) row = r;
      if (ready(row)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds{200});
    }
    return row;
  }
};

CAF_TEST_FIXTURE_SCOPE(ops_tests, ops_fixture)

CAF_TEST(list shows binds with their live replicas and queues) {
  // A root sent while no router runs has no record yet; list counts it.
  auto root = send({{"type", "sample"}});
  CAF_CHECK_EQUAL(cli_json("list").value("unrouted", -1), 1);
  node_process node{one_consumer("work", "{ service_time_ms = 1 }"), server.url()};
  CAF_REQUIRE(node.wait_for_log("running"));
  CAF_REQUIRE(wait_event(root));
  CAF_CHECK_EQUAL(cli_json("list").value("unrouted", -1), 0);
  auto row = list_row("work", [](const value& r) {
    return r.is_object() && r["replicas"] == 2 && r["metrics"].value("finished", 0) == 1;
  });
  if (!row.is_object() || row["metrics"].value("finished", 0) != 1)
    CAF_FAIL("list shows " << row.dump() << "; node log:\n" << node.log_text());
  CAF_CHECK(row["replicas"] == 2);
  CAF_CHECK_EQUAL(row["nodes"].size(), 1u);
  CAF_CHECK(row["pending"] == 0);
  CAF_CHECK(row["in_flight"] == 0);
  CAF_CHECK(row["crashed"] == 0);
  CAF_CHECK_EQUAL(row["metrics"].value("finished", -1), 1);
  // One task waited and ran: one observation in each histogram, and the
  // synthetic consumer's 1 ms service time lands above the 1 ms bucket.
  CAF_CHECK_EQUAL(row["metrics"]["queue_wait"].value("count", -1), 1);
  CAF_CHECK_EQUAL(row["metrics"]["processing"].value("count", -1), 1);
  CAF_CHECK(row["metrics"]["processing"].value("sum_ms", 0.0) >= 1.0);
  CAF_CHECK(row["filters"] == value::parse(R"([{"type": "sample"}])"));
  std::string text;
  CAF_CHECK_EQUAL(cli("list", text), 0);
  CAF_CHECK(text.find("IDENTITY") != std::string::npos);
  CAF_CHECK(text.find("work") != std::string::npos);
}

CAF_TEST(a crashed task is shown retried and finishes on a healthy replica) {
  std::optional<node_process> flaky{
      std::in_place, one_consumer("flaky", "{ crash_probability = 1.0 }"), server.url()};
  CAF_REQUIRE(flaky->wait_for_log("running"));
  auto root = send({{"type", "sample"}});
  CAF_REQUIRE(wait_event(root));
  auto crashed = fork_uid(root, "flaky");

  auto shown = cli_json("task " + crashed);
  CAF_CHECK_EQUAL(shown.value("status", ""), "Crashed");
  CAF_CHECK_EQUAL(shown.value("receiver", ""), "flaky");
  CAF_CHECK_EQUAL(shown.value("error", ""), "synthetic crash");
  auto tree = cli_json("analysis " + root);
  bool listed = false;
  for (const auto& t : tree["tasks"])
    listed |= t.value("uid", "") == crashed && t.value("status", "") == "Crashed" &&
              t.value("orig_uid", "") == root;
  CAF_CHECK(listed);
  auto row = list_row("flaky", [](const value& r) { return r.is_object() && r["crashed"] == 1; });
  CAF_CHECK(row.is_object() && row["crashed"] == 1);

  // Not while a node serves it.
  std::string out;
  CAF_CHECK_EQUAL(cli("delete flaky", out), 1);

  CAF_REQUIRE_EQUAL(flaky->stop(), 0);
  flaky.reset();
  auto answer = cli_json("retry " + crashed);
  const auto& retried = answer["retried"];
  CAF_REQUIRE_EQUAL(retried.size(), 1u);
  auto retry = retried[0].value("retry_uid", "");
  CAF_CHECK_NOT_EQUAL(retry, crashed);
  auto pending = cli_json("task " + retry);
  CAF_CHECK_EQUAL(pending.value("status", ""), "Spawned");
  CAF_CHECK_EQUAL(pending.value("orig_uid", ""), crashed);
  cli_json("task " + crashed, 1); // the crashed record is gone
  cli_json("retry " + retry, 1);  // not crashed

  forget_event(root);
  node_process healthy{one_consumer("flaky", "{ crash_probability = 0.0 }"), server.url()};
  // The retry reopened the analysis; it is announced again once it finished.
  CAF_REQUIRE(wait_event(root));
  CAF_CHECK_EQUAL(receivers(root, "Finished"), std::multiset<std::string>{"flaky"});
  // The retry's delete marker on the crashed record was read by the
  // housekeeper and then removed: markers do not pile up in the bucket.
  auto crashed_subject =
      "$KV." + std::string{pipeline::tasks_bucket} + "." + pipeline::task_key(root, crashed);
  bool marker_gone = false;
  for (int i = 0; i < 50 && !marker_gone; ++i) {
    auto last = broker::last_message_data(*conn, pipeline::tasks_stream, crashed_subject);
    CAF_REQUIRE(last.has_value());
    marker_gone = !last->has_value();
    if (!marker_gone) std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  CAF_CHECK(marker_gone);
  CAF_CHECK_EQUAL(healthy.stop(), 0);

  // With no node left, delete removes the bind, the queue and what it holds;
  // the queued task is recorded Crashed, so it can be retried.
  auto queued = fork_for(make_task({{"type", "sample"}}), "flaky");
  CAF_CHECK(conn->js_publish(
      {pipeline::queue_subject("flaky", priority::normal), encode(queued), {}, new_uid(), {}},
      std::chrono::seconds{5}));
  auto deleted = cli_json("delete flaky");
  CAF_CHECK_EQUAL(deleted.value("queued_removed", -1), 1);
  CAF_CHECK_EQUAL(stored(pipeline::queues_stream), 0u);
  auto tasks = *broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  auto record = tasks.get(pipeline::task_key(queued));
  CAF_REQUIRE(record.has_value());
  auto crashed_queued = decode_task(record->value);
  CAF_REQUIRE(crashed_queued.has_value());
  CAF_CHECK_EQUAL(crashed_queued->status, task_status::crashed);
  CAF_CHECK(crashed_queued->error.find("deleted") != std::string::npos);
  CAF_CHECK(list_row("flaky", [](const value& r) { return r.is_null(); }).is_null());
  CAF_CHECK_EQUAL(cli("delete flaky", out), 1); // nothing left
}

CAF_TEST(a root forked for one identity is shown routed though only its fork is recorded) {
  // Its router writes no routed record: the fork's record says it is the
  // sole fork, which is all the root's routing (docs/PIPELINE.md).
  node_process node{
      "[router]\ninstances = 1\n" +
          consumer("slow", R"([{type = "sample"}])", "{ service_time_ms = 1500 }") +
          consumer("pair", R"([{type = "sample", kind = "pair"}])", "{ service_time_ms = 1500 }"),
      server.url()};
  CAF_REQUIRE(node.wait_for_log("running"));
  auto root = send({{"type", "sample"}});
  auto fork = fork_uid(root, "slow");
  auto tasks = *broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  // The record under `key`, polled for up to 5 s.
  auto wait_record = [&tasks](const std::string& key) -> std::optional<task> {
    for (int i = 0; i < 50; ++i) {
      if (auto r = tasks.get(key); r && decode_task(r->value)) return *decode_task(r->value);
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
    return std::nullopt;
  };
  auto recorded = wait_record(pipeline::task_key(root, fork));
  CAF_REQUIRE(recorded.has_value());
  CAF_CHECK(recorded->sole_fork);
  CAF_CHECK(!tasks.get(pipeline::task_key(root, root)).has_value());
  auto shown = cli_json("task " + root);
  CAF_CHECK_EQUAL(shown.value("status", ""), "Finished");
  CAF_CHECK_EQUAL(shown.value("receiver", "?"), "");
  CAF_CHECK(shown["spawned"] == value::array({fork}));
  auto tree = cli_json("analysis " + root);
  CAF_CHECK_EQUAL(tree["tasks"].size(), 2u);
  // Forked for two identities, a root gets its routed record.
  auto pair = send({{"type", "sample"}, {"kind", "pair"}});
  auto routed = wait_record(pipeline::task_key(pair, pair));
  CAF_REQUIRE(routed.has_value());
  CAF_CHECK_EQUAL(routed->status, task_status::finished);
  CAF_CHECK_EQUAL(routed->spawned.size(), 2u);
  auto pair_fork = tasks.get(pipeline::task_key(pair, fork_uid(pair, "pair")));
  CAF_REQUIRE(pair_fork.has_value());
  CAF_CHECK(!decode_task(pair_fork->value)->sole_fork);
  CAF_REQUIRE(wait_event(root));
  CAF_CHECK_EQUAL(receivers(root, "Finished"), std::multiset<std::string>{"slow"});
  CAF_REQUIRE(wait_event(pair));
  CAF_CHECK_EQUAL(receivers(pair, "Finished"), (std::multiset<std::string>{"pair", "slow"}));
}

CAF_TEST(a crashed sole fork retried before its analysis ended leaves its root routed) {
  // Its record was all that told the root was routed (no routed record);
  // while the analysis is open the root gets one before that record goes.
  auto tasks = *broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  auto crash = [&](const task& root) {
    auto fork = fork_for(root, "work");
    fork.sole_fork = true;
    fork.status = task_status::crashed;
    fork.error = "boom";
    CAF_REQUIRE(tasks.put(pipeline::task_key(fork), encode(fork)));
    return fork;
  };
  auto open_root = make_task({{"type", "sample"}});
  auto open_fork = crash(open_root);
  auto child = derive_child(open_fork, {{"type", "report"}});
  CAF_REQUIRE(tasks.put(pipeline::task_key(child), encode(child))); // still Declared
  cli_json("retry " + open_fork.uid);
  auto routed = tasks.get(pipeline::task_key(open_root));
  CAF_REQUIRE(routed.has_value());
  auto root_record = decode_task(routed->value);
  CAF_REQUIRE(root_record.has_value());
  CAF_CHECK_EQUAL(root_record->status, task_status::finished);
  CAF_CHECK_EQUAL(root_record->spawned, std::vector<std::string>{open_fork.uid});
  CAF_CHECK(!tasks.get(pipeline::task_key(open_fork)).has_value());
  // Once announced, the announcement tells: no record is made up.
  auto done_root = make_task({{"type", "sample"}});
  auto done_fork = crash(done_root);
  CAF_REQUIRE(conn->js_publish({pipeline::analysis_event_subject(done_root.uid),
                                R"({"root_uid": ")" + done_root.uid + R"(", "tasks": []})",
                                {},
                                {},
                                std::nullopt},
                               std::chrono::seconds{2}));
  cli_json("retry " + done_fork.uid);
  CAF_CHECK(!tasks.get(pipeline::task_key(done_root)).has_value());
}

CAF_TEST(cancel records an unfinished task Crashed once) {
  auto tasks = *broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  auto t = fork_for(make_task({{"type", "sample"}}), "work");
  CAF_REQUIRE(tasks.put(pipeline::task_key(t), encode(t)));
  std::string out;
  CAF_CHECK_EQUAL(cli("cancel " + new_uid(), out), 1);
  CAF_CHECK_EQUAL(cli("retry " + t.uid, out), 1);
  CAF_CHECK_EQUAL(cli("cancel " + t.uid, out), 0);
  auto shown = cli_json("task " + t.uid);
  CAF_CHECK_EQUAL(shown.value("status", ""), "Crashed");
  CAF_CHECK_EQUAL(shown.value("error", ""), "cancelled by user");
  CAF_CHECK_EQUAL(cli("cancel " + t.uid, out), 1);
  CAF_CHECK_EQUAL(cli("cancel not/a-uid", out), 2);
  CAF_CHECK_EQUAL(cli("analysis " + new_uid(), out), 1);
}

CAF_TEST(a task cancelled before it was routed is not routed) {
  // What a producer writes for a root with attachments: a Declared record,
  // then the unrouted message. No router runs yet.
  auto tasks = *broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  auto t = make_task({{"type", "sample"}});
  t.status = task_status::declared;
  CAF_REQUIRE(tasks.create(pipeline::task_key(t), encode(t)));
  CAF_REQUIRE(conn->js_publish({pipeline::unrouted_subject(t.priority), encode(t), {}, t.uid, {}},
                               std::chrono::seconds{5}));
  std::string out;
  CAF_REQUIRE_EQUAL(cli("cancel " + t.uid, out), 0);
  // Had the routers not been told (the key's write failed), cancelling
  // again tells them, though the task is Crashed already.
  auto cancelled = *broker::kv_bucket::open(conn, pipeline::cancelled_bucket);
  auto key = pipeline::cancelled_key("", t.uid);
  CAF_REQUIRE(cancelled.get(key));
  CAF_REQUIRE(cancelled.purge(key));
  CAF_CHECK_EQUAL(cli("cancel " + t.uid, out), 1);
  CAF_CHECK(cancelled.get(key));

  node_process node{one_consumer("work", "{}"), server.url()};
  CAF_REQUIRE(node.wait_for_log("running"));
  CAF_CHECK(node.wait_for_log("cancelled before it was routed"));
  CAF_REQUIRE(wait_event(t.root_uid));
  // Acked unrouted, nothing forked; the analysis ended with its root
  // cancelled, and stays ended.
  CAF_CHECK_EQUAL(stored(pipeline::unrouted_stream), 0u);
  CAF_CHECK_EQUAL(stored(pipeline::queues_stream), 0u);
  CAF_CHECK(!tasks.get(pipeline::task_key(fork_for(t, "work"))));
  auto shown = cli_json("task " + t.uid);
  CAF_REQUIRE(shown.is_object());
  CAF_CHECK_EQUAL(shown.value("status", ""), "Crashed");
  CAF_CHECK_EQUAL(shown.value("error", ""), "cancelled by user");
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST(each work stream holds one keeper that no count includes) {
  node_process node{one_consumer("work", "{}"), server.url()};
  CAF_REQUIRE(node.wait_for_log("running"));
  auto keepers = [&](const char* stream, const char* subject) -> std::uint64_t {
    auto counts = broker::subject_counts(*conn, stream, subject);
    return counts && counts->count(subject) ? counts->at(subject) : 0;
  };
  auto unrouted_keepers = [&] {
    return keepers(pipeline::unrouted_stream, pipeline::unrouted_keeper_subject);
  };
  auto queue_keepers = [&] {
    return keepers(pipeline::queues_stream, pipeline::queues_keeper_subject);
  };
  // The housekeeping leader writes them once it leads.
  for (int i = 0; i < 100 && (unrouted_keepers() == 0 || queue_keepers() == 0); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  CAF_CHECK_EQUAL(unrouted_keepers(), 1u);
  CAF_CHECK_EQUAL(queue_keepers(), 1u);
  auto tasks = *broker::kv_bucket::open(conn, pipeline::tasks_bucket);
  CAF_CHECK(tasks.get(pipeline::tasks_keeper_key));
  // Written anew, each replaces the one before.
  CAF_REQUIRE(pipeline::refresh_keepers(*conn, tasks));
  CAF_REQUIRE(pipeline::refresh_keepers(*conn, tasks));
  CAF_CHECK_EQUAL(unrouted_keepers(), 1u);
  CAF_CHECK_EQUAL(queue_keepers(), 1u);
  // They are no tasks: not waiting for a router, not in the way of any.
  auto listing = cli_json("list");
  CAF_CHECK(listing["unrouted"] == 0);
  CAF_CHECK_EQUAL(stored(pipeline::queues_stream), 0u);
  auto root = send({{"type", "sample"}});
  CAF_CHECK(wait_event(root));
  CAF_CHECK_EQUAL(receivers(root, "Finished"), std::multiset<std::string>{"work"});
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
