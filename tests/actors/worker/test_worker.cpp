#define CAF_SUITE actors.worker
#define FAIL(msg) CAF_FAIL(msg)
#include "actors/worker/worker.hpp"
#include "caf/test/dsl.hpp"
#include "caf/test/unit_test_impl.hpp"

using namespace sy;
using namespace sy::actors;

namespace {

/// Emits two children, or fails in the way the task's "mode" header says.
class scripted final : public consumer {
public:
  expected<void> process(const task& t, consumer_context& ctx) override {
    ctx.send_child({{"type", "child"}, {"n", 1}});
    ctx.send(derive_child(t, {{"type", "child"}, {"n", 2}}));
    ctx.heartbeat();
    auto mode = t.headers.value("mode", "");
    if (mode == "throw") throw std::runtime_error("disk on fire");
    if (mode == "error") return make_error(errc::internal, "bad sample");
    return {};
  }
};

struct fixture : test_coordinator_fixture<> {
  std::vector<std::string> heartbeats;
  worker_actor w = sys.spawn(
      worker, std::make_shared<scripted>(),
      worker_options{"classifier", [this](const std::string& uid) { heartbeats.push_back(uid); },
                     nullptr});
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(worker_tests, fixture)

CAF_TEST(a finished task returns its children with the tree filled in) {
  auto parent = fork_for(make_task({{"type", "sample"}}, {}, priority::high), "classifier");
  self->send(w, run_atom::value, work_order{parent});
  run_once(); // the worker handles the order
  work_result r;
  self->receive([&](const work_result& x) { r = x; });
  CAF_CHECK(!r.crashed);
  CAF_CHECK_EQUAL(r.uid, parent.uid);
  CAF_CHECK_EQUAL(r.children.size(), 2u);
  for (const auto& child : r.children) {
    CAF_CHECK_EQUAL(child.parent_uid, parent.uid);
    CAF_CHECK_EQUAL(child.root_uid, parent.root_uid);
    CAF_CHECK(child.priority == priority::high);
    CAF_CHECK(child.status == task_status::declared);
  }
  CAF_CHECK_EQUAL(heartbeats, std::vector<std::string>{parent.uid});
}

CAF_TEST(a thrown exception crashes the task and drops its children) {
  auto t = fork_for(make_task({{"type", "sample"}, {"mode", "throw"}}), "classifier");
  self->send(w, run_atom::value, work_order{t});
  run_once();
  self->receive([&](const work_result& r) {
    CAF_CHECK(r.crashed);
    CAF_CHECK_EQUAL(r.error, "disk on fire");
    CAF_CHECK(r.children.empty());
  });
}

CAF_TEST(a returned error crashes the task with its text) {
  auto t = fork_for(make_task({{"type", "sample"}, {"mode", "error"}}), "classifier");
  self->send(w, run_atom::value, work_order{t});
  run_once();
  self->receive([&](const work_result& r) {
    CAF_CHECK(r.crashed);
    CAF_CHECK_EQUAL(r.error, "bad sample");
  });
}

CAF_TEST_FIXTURE_SCOPE_END()
