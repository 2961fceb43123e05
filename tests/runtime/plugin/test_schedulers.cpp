#define CAF_SUITE plugin.schedulers
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/plugin/registry.hpp"

using namespace sy;

namespace {

/// A built-in scheduler made through the registry by name, as a node
/// config reaches it.
std::unique_ptr<scheduler> make(const std::string& name, const value& config = value::object()) {
  plugin::registry reg;
  plugin::add_builtins(reg);
  auto f = reg.find_scheduler(name);
  if (f == nullptr) CAF_FAIL("no scheduler " << name);
  if (f->validate)
    if (auto r = f->validate(config); !r) CAF_FAIL(r.error().message);
  auto made = f->create(config);
  if (!made) CAF_FAIL(made.error().message);
  return std::move(*made);
}

std::string validate(const std::string& name, const value& config) {
  plugin::registry reg;
  plugin::add_builtins(reg);
  auto r = reg.find_scheduler(name)->validate(config);
  return r ? std::string{} : r.error().message;
}

task job(int n, priority p = priority::normal, value payload = value::object()) {
  return make_task({{"type", "job"}, {"n", n}}, std::move(payload), p);
}

std::vector<std::uint64_t> drain(scheduler& s) {
  std::vector<std::uint64_t> out;
  while (auto t = s.pop())
    out.push_back(*t);
  return out;
}

using tickets = std::vector<std::uint64_t>;

} // namespace

CAF_TEST(fifo serves strict priority classes first in first out) {
  auto s = make("sy.schedulers.fifo");
  s->push(1, job(1, priority::low), 0);
  s->push(2, job(2, priority::normal), 0);
  s->push(3, job(3, priority::high), 0);
  s->push(4, job(4, priority::normal), 0);
  s->push(5, job(5, priority::high), 0);
  CAF_CHECK_EQUAL(s->size(), 5u);
  CAF_CHECK_EQUAL(drain(*s), (tickets{3, 5, 2, 4, 1}));
  CAF_CHECK_EQUAL(s->size(), 0u);
  CAF_CHECK(!validate("sy.schedulers.fifo", {{"maxsize", 3}}).empty());
}

CAF_TEST(priority queue serves by score and finds duplicates by hash) {
  auto s = make("sy.schedulers.priority_queue");
  CAF_CHECK(s->push(1, job(1), 1.0).what == admission::queued);
  CAF_CHECK(s->push(2, job(2), 5.0).what == admission::queued);
  auto dup = s->push(3, job(1), 9.0);
  CAF_CHECK(dup.what == admission::duplicate);
  CAF_CHECK_EQUAL(dup.waiting, 1u);
  CAF_CHECK(s->push(4, job(3), 1.0).what == admission::queued);
  CAF_CHECK_EQUAL(drain(*s), (tickets{2, 1, 4}));
  // Once popped, the hash is no longer waiting.
  CAF_CHECK(s->push(5, job(1), 1.0).what == admission::queued);
}

CAF_TEST(priority queue updates keep the waiting ticket when the rules allow) {
  auto s = make("sy.schedulers.priority_queue",
                {{"hash", {"headers.type", "headers.n"}}, {"allow_updates", true}});
  s->push(1, job(1, priority::normal, {{"v", 1}}), 1.0);
  // Same hash, same payload: a duplicate.
  CAF_CHECK(s->push(2, job(1, priority::normal, {{"v", 1}}), 1.0).what == admission::duplicate);
  // Same hash, other payload: an update of ticket 1.
  auto up = s->push(3, job(1, priority::normal, {{"v", 2}}), 1.0);
  CAF_CHECK(up.what == admission::updated);
  CAF_CHECK_EQUAL(up.waiting, 1u);
  // A different priority alone is not enough without allow_priority_updates.
  CAF_CHECK(s->push(4, job(1, priority::high, {{"v", 2}}), 2.0).what == admission::duplicate);
  CAF_CHECK_EQUAL(drain(*s), (tickets{1}));
}

CAF_TEST(priority queue maxsize refuses all but high priority) {
  auto s = make("sy.schedulers.priority_queue", {{"maxsize", 2}});
  s->push(1, job(1), 1.0);
  s->push(2, job(2), 1.0);
  CAF_CHECK(s->push(3, job(3), 1.0).what == admission::full);
  CAF_CHECK(s->push(4, job(4, priority::high), 2.0).what == admission::queued);
  CAF_CHECK_EQUAL(s->size(), 3u);
  CAF_CHECK_EQUAL(drain(*s), (tickets{4, 1, 2}));
}

CAF_TEST(priority queue config errors name the key) {
  CAF_CHECK(validate("sy.schedulers.priority_queue", {{"maxsize", -1}}).find("\"maxsize\"") !=
            std::string::npos);
  CAF_CHECK(validate("sy.schedulers.priority_queue", {{"allow_updates", "yes"}})
                .find("\"allow_updates\"") != std::string::npos);
  CAF_CHECK(validate("sy.schedulers.priority_queue", {{"hash", value::array()}}).find("\"hash\"") !=
            std::string::npos);
  CAF_CHECK(validate("sy.schedulers.priority_queue", {{"max_size", 3}}).find("\"max_size\"") !=
            std::string::npos);
  CAF_CHECK(
      validate("sy.schedulers.priority_queue", {{"maxsize", 3}, {"allow_replace", true}}).empty());
}

CAF_TEST(periodic merges a run into the waiting run of the same blueprint) {
  auto s = make("sy.schedulers.periodic");
  s->push(1, job(1, priority::normal, {{"run", 1}}), 1.0);
  // Same headers, newer payload: the waiting run takes it.
  auto up = s->push(2, job(1, priority::normal, {{"run", 2}}), 1.0);
  CAF_CHECK(up.what == admission::updated);
  CAF_CHECK_EQUAL(up.waiting, 1u);
  CAF_CHECK(s->push(3, job(2), 1.0).what == admission::queued);
  CAF_CHECK_EQUAL(drain(*s), (tickets{1, 3}));
  // A configured hash replaces the default one.
  auto by_type = make("sy.schedulers.periodic", {{"hash", {"headers.type"}}});
  by_type->push(1, job(1), 1.0);
  CAF_CHECK(by_type->push(2, job(2), 1.0).what == admission::duplicate);
}
