#define CAF_SUITE runtime.pipeline.record_reaper
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/pipeline/record_reaper.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <random>

using sy::pipeline::record_reaper;
using seqs = std::vector<std::uint64_t>;

namespace {

/// The `n` oldest messages that stay, and their keys.
std::vector<std::pair<std::uint64_t, std::string>> kept_first(const record_reaper& r,
                                                              std::size_t n) {
  std::vector<std::pair<std::uint64_t, std::string>> out;
  r.visit_kept([&](std::uint64_t seq, std::string_view key) {
    if (out.size() == n) return false;
    out.emplace_back(seq, key);
    return true;
  });
  return out;
}

} // namespace

CAF_TEST(released records below the oldest kept one are purged together) {
  record_reaper r;
  r.delivered("a.1", 1, false, 0);
  r.delivered("a.2", 2, false, 0);
  r.delivered("b.1", 3, false, 0);
  r.delivered("a.3", 4, false, 0);
  CAF_CHECK_EQUAL(r.floor(), 1u);
  r.release(2, 0);
  r.release(4, 0);
  // 1 stays, so nothing can be purged yet.
  CAF_CHECK_EQUAL(r.purgeable(), 0u);
  r.release(1, 0);
  // Now 1 and 2 lie below 3, which stays; 4 waits above it.
  CAF_CHECK_EQUAL(r.floor(), 3u);
  CAF_CHECK_EQUAL(r.purgeable(), 2u);
  r.purged(3);
  CAF_CHECK_EQUAL(r.released(), 1u);
  auto kept = kept_first(r, 1);
  CAF_REQUIRE_EQUAL(kept.size(), 1u);
  CAF_CHECK_EQUAL(kept[0].second, "b.1");
  r.release(3, 0);
  // Every message may go: the floor is past the last one delivered.
  CAF_CHECK_EQUAL(r.floor(), 5u);
  CAF_CHECK_EQUAL(r.purgeable(), 2u);
  r.purged(5);
  CAF_CHECK_EQUAL(r.released(), 0u);
  CAF_CHECK(kept_first(r, 1).empty());
}

CAF_TEST(what moving the oldest kept records past the others would let a purge remove) {
  record_reaper r;
  // A crashed record (1), finished ones (2, 3), another crashed one (4), a
  // finished one (5) and a live task (6).
  for (std::uint64_t seq = 1; seq <= 6; ++seq)
    r.delivered("a." + std::to_string(seq), seq, false, 0);
  for (std::uint64_t seq : {2, 3, 5})
    r.release(seq, 0);
  CAF_CHECK_EQUAL(r.purgeable(), 0u);
  auto first = kept_first(r, 2);
  CAF_REQUIRE_EQUAL(first.size(), 2u);
  CAF_CHECK_EQUAL(first[0].first, 1u);
  CAF_CHECK_EQUAL(first[0].second, "a.1");
  CAF_CHECK_EQUAL(first[1].second, "a.4");
  CAF_CHECK_EQUAL(kept_first(r, 10).size(), 3u);
  // Moving 1 frees 2 and 3; moving 1 and 4 frees 5 too.
  CAF_CHECK_EQUAL(r.released_below(4, 100), 2u);
  CAF_CHECK_EQUAL(r.released_below(6, 100), 3u);
  CAF_CHECK_EQUAL(r.released_below(6, 1), 1u); // the count stops at `enough`
  // 1 moved: the feed brings its new message, 7. The floor rises to 4.
  r.delivered("a.1", 7, false, 0);
  CAF_CHECK_EQUAL(r.floor(), 4u);
  CAF_CHECK_EQUAL(r.purgeable(), 2u);
  CAF_CHECK_EQUAL(r.released_below(6, 100), 3u);
  first = kept_first(r, 1);
  CAF_REQUIRE_EQUAL(first.size(), 1u);
  CAF_CHECK_EQUAL(first[0].second, "a.4");
}

CAF_TEST(a key written again moves its record to the new message) {
  record_reaper r;
  r.delivered("a.1", 1, false, 0); // Spawned
  r.delivered("a.2", 2, false, 0);
  r.delivered("a.1", 3, false, 0); // Finished: the bucket dropped 1
  CAF_CHECK_EQUAL(r.floor(), 2u);
  // A release of the replaced message changes nothing.
  r.release(1, 0);
  CAF_CHECK_EQUAL(r.released(), 0u);
  r.release(3, 0);
  CAF_CHECK_EQUAL(r.purgeable(), 0u); // 3 waits above 2
  // A key written again after its release stays.
  r.delivered("a.1", 4, false, 0);
  CAF_CHECK_EQUAL(r.released(), 0u);
  r.release(2, 0);
  CAF_CHECK_EQUAL(r.floor(), 4u);
  CAF_CHECK_EQUAL(r.purgeable(), 1u);
}

CAF_TEST(delete markers may go as soon as they are delivered) {
  record_reaper r;
  r.delivered("a.1", 1, false, 0);
  r.delivered("a.1", 2, true, 0); // a retry removed a.1
  CAF_CHECK(kept_first(r, 1).empty());
  CAF_CHECK_EQUAL(r.floor(), 3u);
  CAF_CHECK_EQUAL(r.purgeable(), 1u);
}

CAF_TEST(records released long ago above a floor that stays go one by one) {
  record_reaper r;
  r.delivered("crashed.1", 1, false, 0);
  r.delivered("a.1", 2, false, 0);
  r.delivered("b.1", 3, false, 0);
  r.release(2, 10);
  r.release(3, 20);
  CAF_CHECK(!r.overdue(10));
  CAF_CHECK(r.overdue(15));
  CAF_CHECK_EQUAL(r.take_overdue(15), seqs{2});
  CAF_CHECK_EQUAL(r.released(), 1u);
  CAF_CHECK(!r.overdue(15));
  CAF_CHECK_EQUAL(r.take_overdue(25), seqs{3});
  CAF_CHECK_EQUAL(r.floor(), 1u);
}

CAF_TEST(a kept record removed by someone else no longer holds the floor) {
  record_reaper r;
  r.delivered("a.1", 1, false, 0);
  r.delivered("b.1", 2, false, 0);
  r.release(2, 0);
  CAF_CHECK_EQUAL(r.purgeable(), 0u);
  r.vanished(1);
  CAF_CHECK_EQUAL(r.floor(), 3u);
  CAF_CHECK_EQUAL(r.purgeable(), 1u);
  // Its key is no longer tracked: a new message for it is a new record.
  r.delivered("a.1", 4, false, 0);
  CAF_CHECK_EQUAL(r.floor(), 4u);
  CAF_CHECK_EQUAL(r.purgeable(), 1u);
}

CAF_TEST(a purge is due when it removes enough of the stream) {
  record_reaper r;
  auto share = record_reaper::purge_share;
  // One released message below 2 * share - 1 kept ones: too small a part.
  r.delivered("done.1", 1, false, 0);
  for (std::uint64_t seq = 2; seq < 2 * share + 1; ++seq)
    r.delivered("live." + std::to_string(seq), seq, false, 0);
  r.release(1, 0);
  CAF_CHECK_EQUAL(r.purgeable(), 1u);
  CAF_CHECK(!r.purge_due(1));
  // Two of 2 * share: due, unless more than two are asked for.
  r.release(2, 0);
  CAF_CHECK_EQUAL(r.purgeable(), 2u);
  CAF_CHECK(r.purge_due(2));
  CAF_CHECK(!r.purge_due(3));
  // Nothing below the floor: never due.
  CAF_CHECK(!record_reaper{}.purge_due(0));
}

CAF_TEST(the floor and the purgeable count follow any sequence of events) {
  // A plain model of the bucket (each key's current message) against the
  // reaper's incremental bookkeeping, over random events.
  struct message {
    std::string key;
    bool released = false;
    double since = 0;
  };
  std::map<std::uint64_t, message> model;
  auto model_floor = [&](std::uint64_t last) {
    for (const auto& [seq, m] : model)
      if (!m.released) return seq;
    return last + 1;
  };
  auto model_purgeable = [&](std::uint64_t floor) {
    return static_cast<std::size_t>(std::count_if(model.begin(), model.lower_bound(floor),
                                                  [](const auto& m) { return m.second.released; }));
  };
  record_reaper r;
  std::mt19937 rng{7};
  std::uint64_t last = 0;
  for (int step = 0; step < 20000; ++step) {
    auto now = static_cast<double>(step);
    auto pick = [&]() -> std::optional<std::uint64_t> {
      if (model.empty()) return std::nullopt;
      auto i = model.begin();
      std::advance(i, rng() % model.size());
      return i->first;
    };
    switch (rng() % 10) {
    case 0:
    case 1:
    case 2:
    case 3: { // a record or marker written
      auto key = "k." + std::to_string(rng() % 300);
      auto marker = rng() % 10 == 0;
      ++last;
      for (auto i = model.begin(); i != model.end(); ++i)
        if (i->second.key == key) {
          model.erase(i);
          break;
        }
      model[last] = {key, marker, now};
      r.delivered(key, last, marker, now);
      break;
    }
    case 4:
    case 5:
    case 6: // released
      if (auto seq = pick(); seq && !model[*seq].released) {
        model[*seq].released = true;
        model[*seq].since = now;
        r.release(*seq, now);
      }
      break;
    case 7: { // purged below the floor
      auto floor = r.floor();
      model.erase(model.begin(), model.lower_bound(floor));
      r.purged(floor);
      break;
    }
    case 8: // removed by someone else
      if (auto seq = pick()) {
        model.erase(*seq);
        r.vanished(*seq);
      }
      break;
    default: { // removed one by one
      auto cutoff = now - 50;
      seqs expected;
      for (auto i = model.begin(); i != model.end();)
        if (i->second.released && i->second.since < cutoff) {
          expected.push_back(i->first);
          i = model.erase(i);
        } else {
          ++i;
        }
      if (r.take_overdue(cutoff) != expected) CAF_FAIL("take_overdue differs at step " << step);
    }
    }
    auto floor = model_floor(last);
    auto released =
        std::count_if(model.begin(), model.end(), [](const auto& m) { return m.second.released; });
    if (r.floor() != floor || r.purgeable() != model_purgeable(floor) ||
        r.released() != static_cast<std::size_t>(released))
      CAF_FAIL("step " << step << ": floor " << r.floor() << " purgeable " << r.purgeable()
                       << " released " << r.released() << ", expected " << floor << ", "
                       << model_purgeable(floor) << " and " << released);
  }
}
