#define CAF_SUITE runtime.broker.kv
#include "caf/test/unit_test.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "tests/runtime/broker/broker_fixture.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

using namespace sy::broker;
using namespace sy::broker::testing;
using namespace std::chrono_literals;

namespace {

struct kv_fixture : broker_fixture {
  std::optional<kv_bucket> kv;

  /// The key's value, or "<error: ...>".
  std::string value_of(const std::string& key) {
    auto e = kv->get(key);
    return e ? e->value : "<error: " + e.error().message + ">";
  }

  kv_fixture() {
    kv_spec spec;
    spec.name = "sy_tasks";
    spec.history = 5;
    auto b = ensure_bucket(conn, spec);
    if (!b) {
      std::fprintf(stderr, "kv_fixture: %s\n", b.error().message.c_str());
      std::exit(1);
    }
    kv.emplace(std::move(*b));
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(kv_tests, kv_fixture)

CAF_TEST(create get and update follow revisions) {
  auto r1 = kv->create("root.a", "v1");
  SY_REQUIRE(r1);
  auto dup = kv->create("root.a", "again");
  SY_REQUIRE(!dup);
  CAF_CHECK(dup.error().code == sy::errc::conflict);
  CAF_MESSAGE(dup.error().message);
  auto e = kv->get("root.a");
  SY_REQUIRE(e);
  CAF_CHECK_EQUAL(e->value, "v1");
  CAF_CHECK_EQUAL(e->revision, *r1);
  CAF_CHECK(e->operation == kv_operation::put);
  CAF_CHECK(e->created.time_since_epoch().count() > 0);
  auto r2 = kv->update("root.a", "v2", *r1);
  SY_REQUIRE(r2);
  CAF_CHECK_GREATER(*r2, *r1);
  auto stale = kv->update("root.a", "v3", *r1);
  SY_REQUIRE(!stale);
  CAF_CHECK(stale.error().code == sy::errc::conflict);
  CAF_CHECK_EQUAL(value_of("root.a"), "v2");
  CAF_CHECK(kv->erase("root.a"));
  auto gone = kv->get("root.a");
  CAF_CHECK(!gone && gone.error().code == sy::errc::not_found);
  auto again = kv->create("root.a", "v4"); // over the delete marker
  SY_REQUIRE(again);
  CAF_CHECK_EQUAL(value_of("root.a"), "v4");
  CAF_CHECK(kv->purge("root.a"));
  CAF_CHECK(!kv->get("root.a"));
  auto binary = std::string("a\0b", 3);
  CAF_CHECK(kv->put("root.bin", binary));
  CAF_CHECK_EQUAL(value_of("root.bin"), binary);
}

CAF_TEST(async puts are listed by pattern) {
  constexpr int n = 200;
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  for (int i = 0; i < n; ++i)
    kv->put_async("a." + std::to_string(i), "value" + std::to_string(i),
                  [&](sy::expected<std::uint64_t> r) { ++(r ? ok : failed); });
  for (int i = 0; i < 5; ++i)
    kv->put_async("b." + std::to_string(i), "other",
                  [&](sy::expected<std::uint64_t> r) { ++(r ? ok : failed); });
  SY_REQUIRE(wait_until([&] { return ok + failed == n + 5; }));
  CAF_CHECK_EQUAL(failed.load(), 0);
  auto entries = kv->entries("a.*");
  SY_REQUIRE(entries);
  CAF_CHECK_EQUAL(entries->size(), std::size_t{n});
  std::set<std::string> keys;
  bool values_match = true;
  for (const auto& e : *entries) {
    keys.insert(e.key);
    values_match &= e.value == "value" + e.key.substr(2);
  }
  CAF_CHECK_EQUAL(keys.size(), std::size_t{n});
  CAF_CHECK(values_match);
  CAF_CHECK(keys.count("a.0") == 1 && keys.count("a.199") == 1);
  auto b_keys = kv->keys("b.*");
  SY_REQUIRE(b_keys);
  CAF_CHECK_EQUAL(b_keys->size(), 5u);
  auto none = kv->entries("c.*");
  SY_REQUIRE(none);
  CAF_CHECK(none->empty());
  // Compare-and-set asynchronously.
  auto current = kv->get("a.7");
  SY_REQUIRE(current);
  std::atomic<int> cas_ok{0};
  std::atomic<int> cas_conflict{0};
  std::atomic<int> cas_other{0};
  auto count = [&](sy::expected<std::uint64_t> r) { // on a broker thread: no CAF_CHECK here
    ++(r ? cas_ok : r.error().code == sy::errc::conflict ? cas_conflict : cas_other);
  };
  kv->update_async("a.7", "cas", current->revision, count);
  kv->update_async("a.7", "cas-stale", current->revision, count);
  CAF_CHECK(wait_until([&] { return cas_ok + cas_conflict + cas_other == 2; }));
  CAF_CHECK_EQUAL(cas_ok.load(), 1);
  CAF_CHECK_EQUAL(cas_conflict.load(), 1);
  CAF_CHECK_EQUAL(value_of("a.7"), "cas");
  // A delete marker only over the revision given.
  cas_ok = cas_conflict = cas_other = 0;
  kv->erase_async("a.7", count, current->revision); // stale: "cas" was written since
  CAF_CHECK(wait_until([&] { return cas_ok + cas_conflict + cas_other == 1; }));
  CAF_CHECK_EQUAL(cas_conflict.load(), 1);
  CAF_CHECK_EQUAL(value_of("a.7"), "cas");
  std::atomic<bool> erased{false};
  kv->erase_async("a.7", [&](sy::expected<std::uint64_t> r) { erased = static_cast<bool>(r); });
  CAF_CHECK(wait_until([&] { return erased.load(); }));
  auto after = kv->entries("a.*");
  CAF_CHECK(after && after->size() == std::size_t{n - 1});
}

CAF_TEST(a watch sees initial values puts and deletes) {
  CAF_CHECK(kv->put("w.old", "0"));
  std::mutex mu;
  std::vector<kv_entry> got;
  std::atomic<bool> caught_up{false};
  kv_watch_options opts;
  opts.on_caught_up = [&] { caught_up = true; };
  auto watcher = kv->watch(
      "w.*",
      [&](const kv_entry& e) {
        std::lock_guard<std::mutex> guard(mu);
        got.push_back(e);
      },
      opts);
  SY_REQUIRE(watcher);
  CAF_CHECK(wait_until([&] { return caught_up.load(); }));
  CAF_CHECK(kv->put("w.x", "1"));
  CAF_CHECK(kv->put("other.y", "ignored"));
  CAF_CHECK(kv->erase("w.x"));
  auto size = [&] {
    std::lock_guard<std::mutex> guard(mu);
    return got.size();
  };
  CAF_CHECK(wait_until([&] { return size() == 3; }));
  {
    std::lock_guard<std::mutex> guard(mu);
    SY_REQUIRE(got.size() == 3);
    CAF_CHECK_EQUAL(got[0].key, "w.old");
    CAF_CHECK_EQUAL(got[1].key, "w.x");
    CAF_CHECK_EQUAL(got[1].value, "1");
    CAF_CHECK(got[1].operation == kv_operation::put);
    CAF_CHECK_EQUAL(got[2].key, "w.x");
    CAF_CHECK(got[2].operation == kv_operation::erase);
  }
  watcher->stop();
  CAF_CHECK(!watcher->running());
  CAF_CHECK(kv->put("w.z", "after stop"));
  CAF_CHECK(conn->flush(1s));
  CAF_CHECK_EQUAL(size(), 3u);
}

CAF_TEST(a watch without initial values reports only changes) {
  CAF_CHECK(kv->put("n.old", "0"));
  std::atomic<int> calls{0};
  std::atomic<bool> caught_up{false};
  std::string first_key;
  kv_watch_options opts;
  opts.include_initial_values = false;
  opts.on_caught_up = [&] { caught_up = true; };
  auto watcher = kv->watch(
      "n.>",
      [&](const kv_entry& e) {
        if (calls++ == 0) first_key = e.key;
      },
      opts);
  SY_REQUIRE(watcher);
  CAF_CHECK(wait_until([&] { return caught_up.load(); }));
  CAF_CHECK(kv->put("n.new", "1"));
  CAF_CHECK(wait_until([&] { return calls == 1; }));
  watcher->stop();
  CAF_CHECK_EQUAL(first_key, "n.new");
}

CAF_TEST(ensure bucket validates an existing bucket) {
  kv_spec spec;
  spec.name = "sy_tasks";
  spec.history = 5;
  auto same = ensure_bucket(conn, spec);
  CAF_CHECK(same);
  spec.history = 2;
  spec.ttl = 1h;
  CAF_CHECK(ensure_bucket(conn, spec)); // updated in place
  spec.storage = storage_type::memory;
  auto r = ensure_bucket(conn, spec);
  SY_REQUIRE(!r);
  CAF_CHECK(r.error().code == sy::errc::conflict);
  CAF_MESSAGE(r.error().message);
  CAF_CHECK(r.error().message.find("KV bucket sy_tasks") != std::string::npos);
  auto missing = kv_bucket::open(conn, "nope");
  CAF_CHECK(!missing && missing.error().code == sy::errc::not_found);
}

CAF_TEST_FIXTURE_SCOPE_END()
