#define CAF_SUITE runtime.pipeline.analysis_tracker
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/pipeline/analysis_tracker.hpp"

using namespace sy;
using sy::pipeline::analysis_tracker;
using sy::pipeline::record_state;

namespace {

std::uint64_t next_revision = 1;

record_state rec(const std::string& uid, task_status s, const std::string& receiver = "work") {
  return {uid, s, next_revision++, 0, receiver, "", {}, false};
}

/// The record of a root that was routed (a routed record has no receiver).
record_state routed(const std::string& uid) {
  return rec(uid, task_status::finished, "");
}

std::vector<std::string> completed_roots(analysis_tracker& t) {
  std::vector<std::string> out;
  for (const auto& done : t.take_completed())
    out.push_back(done.root_uid);
  return out;
}

} // namespace

CAF_TEST(an analysis completes when its last live task ends) {
  analysis_tracker t;
  t.put("r", rec("r", task_status::declared, ""));
  t.put("r", rec("f1", task_status::spawned));
  t.put("r", rec("r", task_status::finished, "")); // routed
  CAF_CHECK(completed_roots(t).empty());
  t.put("r", rec("f1", task_status::started));
  t.put("r", rec("c", task_status::declared, "")); // a child, declared before...
  t.put("r", rec("f1", task_status::finished));    // ...its parent finished
  CAF_CHECK(completed_roots(t).empty());
  t.put("r", rec("c", task_status::finished, "")); // the child matched nothing
  auto done = t.take_completed();
  CAF_CHECK_EQUAL(done.size(), 1u);
  if (done.size() == 1) {
    CAF_CHECK_EQUAL(done[0].root_uid, "r");
    CAF_CHECK_EQUAL(done[0].finished.size(), 3u);
    CAF_CHECK(done[0].crashed.empty());
  }
  CAF_CHECK_EQUAL(t.size(), 0u);
}

CAF_TEST(crashed tasks end an analysis and are reported apart) {
  analysis_tracker t;
  t.put("r", rec("f1", task_status::spawned));
  t.put("r", rec("f2", task_status::spawned));
  t.put("r", routed("r"));
  t.put("r", rec("f1", task_status::crashed));
  CAF_CHECK(completed_roots(t).empty());
  t.put("r", rec("f2", task_status::finished));
  auto done = t.take_completed();
  CAF_CHECK_EQUAL(done.size(), 1u);
  if (done.size() == 1) {
    CAF_CHECK_EQUAL(done[0].crashed.size(), 1u);
    CAF_CHECK_EQUAL(done[0].crashed[0].uid, "f1");
  }
}

CAF_TEST(a task listed as spawned keeps its analysis open until its record comes) {
  analysis_tracker t;
  // The fork's Spawned record was replaced by its Started one before it was
  // read: only the routed record, which lists the fork, tells of it.
  t.put("r", rec("r", task_status::declared, ""));
  auto routed = rec("r", task_status::finished, "");
  routed.spawned = {"f1"};
  t.put("r", routed);
  CAF_CHECK(completed_roots(t).empty());
  t.put("r", rec("f1", task_status::started));
  CAF_CHECK(completed_roots(t).empty());
  auto done_f1 = rec("f1", task_status::finished);
  done_f1.spawned = {"c"}; // a child, whose Declared record is missed too
  t.put("r", done_f1);
  CAF_CHECK(completed_roots(t).empty());
  auto child_routed = rec("c", task_status::finished, "");
  t.put("r", child_routed); // matched nothing
  auto done = t.take_completed();
  CAF_REQUIRE_EQUAL(done.size(), 1u);
  CAF_CHECK_EQUAL(done[0].finished.size(), 3u);
}

CAF_TEST(a replay may show a parent before its child) {
  analysis_tracker t;
  auto parent = rec("f1", task_status::finished);
  parent.spawned = {"c"};
  t.put("r", parent);
  t.put("r", routed("r"));
  t.put("s", rec("g", task_status::finished));
  t.put("s", routed("s"));
  CAF_CHECK_EQUAL(completed_roots(t), std::vector<std::string>{"s"});
  t.put("r", rec("c", task_status::declared, ""));
  CAF_CHECK(completed_roots(t).empty());
  t.put("r", rec("c", task_status::finished, ""));
  CAF_CHECK_EQUAL(completed_roots(t), std::vector<std::string>{"r"});
}

CAF_TEST(listed tasks never read are reported and can be removed) {
  analysis_tracker t;
  auto parent = rec("f1", task_status::finished);
  parent.spawned = {"gone"};
  parent.last_update = 100;
  t.put("r", parent);
  t.put("r", routed("r"));
  CAF_CHECK(t.unseen_before(50).empty());
  auto unseen = t.unseen_before(150);
  CAF_REQUIRE_EQUAL(unseen.size(), 1u);
  CAF_CHECK_EQUAL(unseen[0].second, "gone");
  CAF_CHECK(completed_roots(t).empty());
  t.remove("r", "gone");
  CAF_CHECK_EQUAL(completed_roots(t), std::vector<std::string>{"r"});
}

CAF_TEST(a removed record no longer keeps its analysis open) {
  analysis_tracker t;
  t.put("r", routed("r"));
  t.put("r", rec("f1", task_status::finished));
  t.put("r", rec("f2", task_status::started));
  t.remove("r", "f2"); // cancelled or retried by hand
  CAF_CHECK_EQUAL(completed_roots(t), std::vector<std::string>{"r"});
  t.remove("x", "nothing"); // unknown roots are ignored
  CAF_CHECK_EQUAL(t.size(), 0u);
}

CAF_TEST(a retry reopens a completed analysis) {
  analysis_tracker t;
  t.put("r", routed("r"));
  t.put("r", rec("f1", task_status::crashed));
  CAF_CHECK_EQUAL(completed_roots(t), std::vector<std::string>{"r"});
  // The root's record went with the first round: the housekeeper confirms
  // the root from the earlier announcement.
  auto retry = rec("f1-retry", task_status::spawned);
  retry.last_update = 100;
  t.put("r", retry);
  CAF_CHECK(completed_roots(t).empty());
  retry.status = task_status::finished;
  t.put("r", retry);
  CAF_CHECK(completed_roots(t).empty());
  CAF_CHECK(t.unconfirmed_before(50).empty());
  auto unconfirmed = t.unconfirmed_before(150);
  CAF_REQUIRE_EQUAL(unconfirmed.size(), 1u);
  CAF_CHECK_EQUAL(unconfirmed[0].first, "r");
  CAF_CHECK_EQUAL(unconfirmed[0].second, 100);
  t.confirm_root("r");
  CAF_CHECK_EQUAL(completed_roots(t), std::vector<std::string>{"r"});
}

CAF_TEST(an analysis waits until its root is routed) {
  // A root published without a record, whose router died after queueing
  // one fork of two: the fork that ran must not end the analysis.
  analysis_tracker t;
  t.put("r", rec("f1", task_status::spawned));
  t.put("r", rec("f1", task_status::finished));
  CAF_CHECK(completed_roots(t).empty());
  CAF_CHECK_EQUAL(t.unconfirmed_before(1e12).size(), 1u);
  // The redelivered root is routed again; its routed record ends the wait.
  t.put("r", rec("f2", task_status::spawned));
  CAF_CHECK(t.unconfirmed_before(1e12).empty());
  auto root = routed("r");
  root.spawned = {"f1", "f2"};
  t.put("r", root);
  CAF_CHECK(completed_roots(t).empty());
  t.put("r", rec("f2", task_status::finished));
  auto done = t.take_completed();
  CAF_REQUIRE_EQUAL(done.size(), 1u);
  CAF_CHECK_EQUAL(done[0].finished.size(), 3u);
}

CAF_TEST(the record of a sole fork tells that its root was routed) {
  // The router writes no routed record for a root forked for one identity.
  analysis_tracker t;
  auto fork = rec("f1", task_status::spawned);
  fork.sole_fork = true;
  t.put("r", fork);
  CAF_CHECK(completed_roots(t).empty());
  fork.status = task_status::finished;
  t.put("r", fork);
  auto done = t.take_completed();
  CAF_REQUIRE_EQUAL(done.size(), 1u);
  CAF_CHECK_EQUAL(done[0].finished.size(), 1u);
  CAF_CHECK(t.unconfirmed_before(1e12).empty());
}

CAF_TEST(a declared root record does not outlive its sole fork) {
  // A producer wrote a Declared record for a root its router took for one
  // without: the record stays Declared, and is collected with the rest.
  analysis_tracker t;
  t.put("r", rec("r", task_status::declared, ""));
  auto fork = rec("f1", task_status::spawned);
  fork.sole_fork = true;
  t.put("r", fork);
  CAF_CHECK(completed_roots(t).empty());
  t.put("r", rec("r", task_status::declared, "")); // written again: still not live
  fork.status = task_status::finished;
  t.put("r", fork);
  auto done = t.take_completed();
  CAF_REQUIRE_EQUAL(done.size(), 1u);
  CAF_CHECK_EQUAL(done[0].finished.size(), 2u);
}

CAF_TEST(a crashed root ends its analysis) {
  analysis_tracker t;
  t.put("r", rec("r", task_status::declared, ""));
  CAF_CHECK(completed_roots(t).empty());
  t.put("r", rec("r", task_status::crashed, ""));
  CAF_CHECK_EQUAL(completed_roots(t), std::vector<std::string>{"r"});
}

CAF_TEST(started tasks older than the cutoff are listed) {
  analysis_tracker t;
  auto old = rec("f1", task_status::started);
  old.last_update = 100;
  auto fresh = rec("f2", task_status::started);
  fresh.last_update = 200;
  t.put("r", old);
  t.put("r", fresh);
  auto stale = t.started_before(150);
  CAF_CHECK_EQUAL(stale.size(), 1u);
  if (stale.size() == 1) CAF_CHECK_EQUAL(stale[0].second.uid, "f1");
}
