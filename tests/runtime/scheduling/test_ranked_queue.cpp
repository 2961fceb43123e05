#define CAF_SUITE runtime.scheduling.ranked_queue
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/scheduling/ranked_queue.hpp"
#include "runtime/scheduling/task_hash.hpp"

#include <random>

using namespace sy;
using namespace sy::scheduling;

namespace {

queue_item<std::string> item(std::string hash, double score, std::string value, int priority = 1,
                             std::string content = "c", bool manual = false) {
  return {std::move(hash), score, priority, std::move(content), manual, std::move(value)};
}

std::vector<std::string> drain(ranked_queue<std::string>& q) {
  std::vector<std::string> out;
  while (auto e = q.pop())
    out.push_back(e->item.value);
  return out;
}

} // namespace

CAF_TEST(higher scores come first and equal scores in push order) {
  ranked_queue<std::string> q;
  CAF_CHECK_EQUAL(q.push(item("a", 1, "a")), push_result::added);
  CAF_CHECK_EQUAL(q.push(item("b", 5, "b")), push_result::added);
  CAF_CHECK_EQUAL(q.push(item("c", 1, "c")), push_result::added);
  CAF_CHECK_EQUAL(q.push(item("d", 3, "d")), push_result::added);
  CAF_CHECK_EQUAL(q.push(item("e", 1, "e")), push_result::added);
  CAF_CHECK_EQUAL(drain(q), (std::vector<std::string>{"b", "d", "a", "c", "e"}));
  CAF_CHECK(!q.pop());
}

CAF_TEST(a waiting hash is a duplicate unless a rule allows the push) {
  ranked_queue<std::string> q;
  CAF_CHECK_EQUAL(q.push(item("h", 1, "first")), push_result::added);
  // Same content, same priority, different content, different priority:
  // nothing is allowed by default.
  CAF_CHECK_EQUAL(q.push(item("h", 9, "again")), push_result::duplicate);
  CAF_CHECK_EQUAL(q.push(item("h", 1, "x", 1, "other")), push_result::duplicate);
  CAF_CHECK_EQUAL(q.push(item("h", 1, "x", 2)), push_result::duplicate);
  CAF_CHECK_EQUAL(q.size(), 1u);
  CAF_CHECK_EQUAL(q.pop()->item.value, "first");
  // Once popped, the hash may come again.
  CAF_CHECK_EQUAL(q.push(item("h", 1, "later")), push_result::added);
}

CAF_TEST(allow_replace accepts any push of a waiting hash and keeps its id) {
  ranked_queue<std::string> q{{0, true, false, false}};
  q.push(item("h", 1, "first"));
  auto id = q.find("h")->id;
  CAF_CHECK_EQUAL(q.push(item("h", 1, "same again")), push_result::updated);
  CAF_CHECK_EQUAL(q.size(), 1u);
  auto e = q.pop();
  CAF_CHECK_EQUAL(e->id, id);
  CAF_CHECK_EQUAL(e->item.value, "same again");
}

CAF_TEST(allow_updates accepts a changed content only) {
  ranked_queue<std::string> q{{0, false, true, false}};
  q.push(item("h", 1, "first", 1, "v1"));
  CAF_CHECK_EQUAL(q.push(item("h", 1, "same", 1, "v1")), push_result::duplicate);
  CAF_CHECK_EQUAL(q.push(item("h", 1, "prio only", 2, "v1")), push_result::duplicate);
  CAF_CHECK_EQUAL(q.push(item("h", 1, "new content", 1, "v2")), push_result::updated);
  CAF_CHECK_EQUAL(q.find("h")->item.value, "new content");
}

CAF_TEST(allow_priority_updates accepts a changed priority only and reorders) {
  ranked_queue<std::string> q{{0, false, false, true}};
  q.push(item("a", 2, "a", 1));
  q.push(item("h", 1, "h", 1));
  CAF_CHECK_EQUAL(q.push(item("h", 1, "content", 1, "other")), push_result::duplicate);
  CAF_CHECK_EQUAL(q.push(item("h", 3, "h raised", 2)), push_result::updated);
  CAF_CHECK_EQUAL(drain(q), (std::vector<std::string>{"h raised", "a"}));
}

CAF_TEST(a lowered score moves the entry down) {
  ranked_queue<std::string> q{{0, true, false, false}};
  q.push(item("h", 9, "h"));
  q.push(item("a", 5, "a"));
  q.push(item("b", 4, "b"));
  CAF_CHECK_EQUAL(q.push(item("h", 1, "h lowered")), push_result::updated);
  CAF_CHECK_EQUAL(drain(q), (std::vector<std::string>{"a", "b", "h lowered"}));
}

CAF_TEST(maxsize refuses pushes but manual ones and frees up on pop) {
  ranked_queue<std::string> q{{2, true, false, false}};
  CAF_CHECK_EQUAL(q.push(item("a", 1, "a")), push_result::added);
  CAF_CHECK_EQUAL(q.push(item("b", 1, "b")), push_result::added);
  CAF_CHECK(q.full());
  CAF_CHECK_EQUAL(q.push(item("c", 1, "c")), push_result::full);
  // As in KAT, a full queue refuses updates too, unless manual.
  CAF_CHECK_EQUAL(q.push(item("a", 1, "a again")), push_result::full);
  CAF_CHECK_EQUAL(q.push(item("m", 0, "manual", 3, "c", true)), push_result::added);
  CAF_CHECK_EQUAL(q.size(), 3u);
  q.pop();
  q.pop();
  CAF_CHECK_EQUAL(q.push(item("c", 1, "c")), push_result::added);
}

CAF_TEST(the heap stays ordered under random pushes updates and pops) {
  ranked_queue<int> q{{0, true, false, false}};
  std::mt19937 rng{42};
  std::map<std::string, double> model; // hash -> score of what waits
  for (int step = 0; step < 20000; ++step) {
    if (rng() % 3 != 0) {
      auto hash = std::to_string(rng() % 500);
      double score = rng() % 100;
      q.push({hash, score, 0, "", false, step});
      model[hash] = score;
    } else if (auto e = q.pop()) {
      double best = -1;
      for (const auto& [h, s] : model)
        best = std::max(best, s);
      CAF_REQUIRE_EQUAL(e->item.score, best);
      CAF_REQUIRE_EQUAL(model.count(e->item.hash), 1u);
      model.erase(e->item.hash);
    }
    CAF_REQUIRE_EQUAL(q.size(), model.size());
  }
}

CAF_TEST(task hashes follow the configured keys) {
  auto a = make_task({{"type", "sample"}, {"kind", "raw"}}, {{"sha256", "aa"}, {"size", 1}});
  auto b = make_task({{"type", "sample"}, {"kind", "raw"}}, {{"sha256", "aa"}, {"size", 2}});
  CAF_CHECK_NOT_EQUAL(task_hash(a), task_hash(b)); // default: all headers and payload
  CAF_CHECK_EQUAL(task_hash(a, {"type", "payload.sha256"}),
                  task_hash(b, {"type", "payload.sha256"}));
  CAF_CHECK_NOT_EQUAL(task_hash(a, {"payload.size"}), task_hash(b, {"payload.size"}));
  CAF_CHECK_EQUAL(task_hash(a).size(), 16u);
  CAF_CHECK_NOT_EQUAL(payload_digest(a), payload_digest(b));
}
