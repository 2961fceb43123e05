#define CAF_SUITE runtime.scheduling.rankers
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/scheduling/ranked_queue.hpp"
#include "runtime/scheduling/rankers.hpp"

using namespace sy;
using namespace sy::scheduling;

namespace {

task with_priority(priority p, const std::string& name) {
  return make_task({{"name", name}}, value::object(), p);
}

std::unique_ptr<ranker> ranker_of(const std::string& name, const value& config = nullptr) {
  auto r = make_ranker(name, config);
  if (!r) CAF_FAIL(r.error().message);
  return std::move(*r);
}

/// The names in the order a queue ordered by `r` hands them out.
std::vector<std::string> ranked(const ranker& r,
                                const std::vector<std::pair<task, rank_context>>& waiting) {
  ranked_queue<std::string> q;
  for (const auto& [t, ctx] : waiting)
    q.push({t.uid, r.score(t, ctx), static_cast<int>(t.priority), "", false,
            t.headers.value("name", "")});
  std::vector<std::string> out;
  while (auto e = q.pop())
    out.push_back(e->item.value);
  return out;
}

} // namespace

CAF_TEST(the priority ranker keeps Karton order and FIFO inside a class) {
  auto r = ranker_of("sy.rankers.priority");
  rank_context ctx;
  CAF_CHECK_EQUAL(ranked(*r, {{with_priority(priority::low, "low"), ctx},
                              {with_priority(priority::normal, "normal 1"), ctx},
                              {with_priority(priority::high, "high"), ctx},
                              {with_priority(priority::normal, "normal 2"), ctx}}),
                  (std::vector<std::string>{"high", "normal 1", "normal 2", "low"}));
}

CAF_TEST(the age ranker lets a long waiting low task overtake fresh high ones) {
  auto r = ranker_of("sy.rankers.age", value{{"aging", "10s"}});
  // Pushed at different times, each scored when pushed.
  double now = 1'800'000'000;
  rank_context fresh;
  fresh.queued_at = now;
  rank_context waited_long;
  waited_long.queued_at = now - 25; // 2.5 classes of aging
  rank_context waited_a_bit;
  waited_a_bit.queued_at = now - 5;
  CAF_CHECK_EQUAL(ranked(*r, {{with_priority(priority::high, "fresh high"), fresh},
                              {with_priority(priority::low, "old low"), waited_long},
                              {with_priority(priority::normal, "normal"), waited_a_bit}}),
                  (std::vector<std::string>{"old low", "fresh high", "normal"}));
}

CAF_TEST(the grace period ranker puts never run first then overdue then by recency) {
  auto r = ranker_of("sy.rankers.grace_period", value{{"grace_period", "1h"}, {"horizon", "1h"}});
  auto t = with_priority(priority::normal, "t");
  rank_context never;
  rank_context overdue;
  overdue.since_last_run = 7200;
  rank_context recent;
  recent.since_last_run = 60;
  rank_context older;
  older.since_last_run = 1800;
  CAF_CHECK_EQUAL(r->score(t, never), 3);
  CAF_CHECK_EQUAL(r->score(t, overdue), 2);
  CAF_CHECK(r->score(t, older) > r->score(t, recent));
  CAF_CHECK(r->score(t, older) < 1);
  // Whole seconds: a fraction of a second changes nothing.
  rank_context almost;
  almost.since_last_run = 60.9;
  CAF_CHECK_EQUAL(r->score(t, almost), r->score(t, recent));
}

CAF_TEST(bad ranker names and configs are errors naming them) {
  auto unknown = make_ranker("sy.rankers.nope", nullptr);
  CAF_REQUIRE(!unknown);
  CAF_CHECK(unknown.error().message.find("sy.rankers.nope") != std::string::npos);
  auto bad_key = make_ranker("sy.rankers.age", value{{"agin", "10s"}});
  CAF_REQUIRE(!bad_key);
  CAF_CHECK(bad_key.error().message.find("unknown key \"agin\"") != std::string::npos);
  auto bad_value = make_ranker("sy.rankers.grace_period", value{{"grace_period", 5}});
  CAF_REQUIRE(!bad_value);
  CAF_CHECK(bad_value.error().message.find("grace_period") != std::string::npos);
  CAF_CHECK(!make_ranker("sy.rankers.priority", value{{"aging", "1s"}}));
}
