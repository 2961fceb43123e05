#define CAF_SUITE runtime.broker.pull
#include "caf/test/unit_test.hpp"
#include "runtime/broker/consumer_spec.hpp"
#include "runtime/broker/pull_consumer.hpp"
#include "runtime/broker/stream_spec.hpp"
#include "tests/runtime/broker/broker_fixture.hpp"

#include <atomic>
#include <csignal>
#include <mutex>
#include <set>
#include <vector>

using namespace sy::broker;
using namespace sy::broker::testing;
using namespace std::chrono_literals;

namespace {

/// A work-queue stream with one durable consumer, and helpers to publish
/// into it and to keep what a puller delivers.
struct pull_fixture : broker_fixture {
  std::mutex mu;
  std::vector<message> held; // delivered, not yet released
  std::set<std::string> seen;
  int max_held = 0;
  std::vector<pull_status> statuses;

  pull_fixture() {
    stream_spec s;
    s.name = "WORK";
    s.subjects = {"work.>"};
    s.retention = retention_policy::workqueue;
    auto r = ensure_stream(*conn, s);
    consumer_spec c;
    c.stream = "WORK";
    c.durable = "worker";
    c.max_ack_pending = 1000;
    auto rc = r ? ensure_consumer(*conn, c) : sy::expected<ensure_outcome>(r.error());
    if (!rc) {
      std::fprintf(stderr, "pull_fixture: %s\n", rc.error().message.c_str());
      std::exit(1);
    }
  }

  void publish(int from, int to) {
    for (int i = from; i < to; ++i)
      CAF_CHECK(conn->js_publish({"work.item", "m" + std::to_string(i), {}, {}, std::nullopt}, 2s));
  }

  /// Options whose on_message keeps every message in `held`.
  pull_options keep(int window, int batch) {
    pull_options o;
    o.stream = "WORK";
    o.consumer = "worker";
    o.window = window;
    o.batch = batch;
    o.expires = 2s;
    o.idle_heartbeat = 500ms;
    o.retry_wait = 100ms;
    o.on_message = [this](message m) {
      std::lock_guard<std::mutex> guard(mu);
      seen.insert(std::string(m.data()));
      held.push_back(std::move(m));
      max_held = std::max(max_held, static_cast<int>(held.size()));
    };
    o.on_status = [this](const pull_status& st) {
      std::lock_guard<std::mutex> guard(mu);
      statuses.push_back(st);
    };
    return o;
  }

  std::size_t held_count() {
    std::lock_guard<std::mutex> guard(mu);
    return held.size();
  }

  std::size_t seen_count() {
    std::lock_guard<std::mutex> guard(mu);
    return seen.size();
  }

  /// Acks everything held and gives the credit back.
  int ack_all(pull_consumer& puller) {
    std::vector<message> batch;
    {
      std::lock_guard<std::mutex> guard(mu);
      batch.swap(held);
    }
    for (auto& m : batch)
      CAF_CHECK(m.ack());
    puller.release(static_cast<int>(batch.size()));
    return static_cast<int>(batch.size());
  }

  std::uint64_t stream_messages() {
    auto info = stream_info(*conn, "WORK");
    return info ? info->messages : ~std::uint64_t{0};
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(pull_tests, pull_fixture)

CAF_TEST(a small window is never exceeded and acks empty the work queue) {
  constexpr int window = 5;
  constexpr int n = 40;
  publish(0, n / 2);
  auto puller = pull_consumer::start(conn, keep(window, 3));
  SY_REQUIRE(puller);
  publish(n / 2, n);
  int acked = 0;
  while (acked < n) {
    // Wait until the window is full (or the last messages came).
    if (!wait_until([&] { return static_cast<int>(held_count()) >= std::min(window, n - acked); }))
      break;
    CAF_CHECK_LESS_OR_EQUAL((*puller)->stats().held, window);
    CAF_CHECK_LESS_OR_EQUAL((*puller)->stats().held + (*puller)->stats().outstanding, window);
    acked += ack_all(**puller);
  }
  CAF_CHECK_EQUAL(acked, n);
  CAF_CHECK_EQUAL(seen_count(), std::size_t{n});
  CAF_CHECK_LESS_OR_EQUAL(max_held, window);
  CAF_CHECK(wait_until([&] { return stream_messages() == 0; }));
  auto stats = (*puller)->stats();
  CAF_CHECK_EQUAL(stats.delivered, std::uint64_t{n});
  CAF_CHECK_EQUAL(stats.overflow_naks, 0u);
  CAF_MESSAGE("requests sent: " << stats.requests);
  CAF_CHECK((*puller)->stop(5s));
}

CAF_TEST(a full window stops delivery until credit is released) {
  publish(0, 10);
  auto puller = pull_consumer::start(conn, keep(4, 4));
  SY_REQUIRE(puller);
  CAF_CHECK(wait_until([&] { return held_count() == 4; }));
  std::this_thread::sleep_for(150ms); // nothing more may arrive meanwhile
  CAF_CHECK_EQUAL(held_count(), 4u);
  ack_all(**puller);
  CAF_CHECK(wait_until([&] { return held_count() == 4; }));
  ack_all(**puller);
  CAF_CHECK(wait_until([&] { return held_count() == 2; }));
  ack_all(**puller);
  CAF_CHECK(wait_until([&] { return stream_messages() == 0; }));
}

CAF_TEST(a nak redelivers with the delivery count incremented) {
  publish(0, 1);
  auto puller = pull_consumer::start(conn, keep(1, 1));
  SY_REQUIRE(puller);
  SY_REQUIRE(wait_until([&] { return held_count() == 1; }));
  message first;
  {
    std::lock_guard<std::mutex> guard(mu);
    first = std::move(held.front());
    held.clear();
  }
  auto md = first.metadata();
  SY_REQUIRE(md.has_value());
  CAF_CHECK_EQUAL(md->num_delivered, 1u);
  CAF_CHECK_EQUAL(md->stream, "WORK");
  CAF_CHECK_EQUAL(md->consumer, "worker");
  CAF_CHECK(first.nak());
  (*puller)->release();
  SY_REQUIRE(wait_until([&] { return held_count() == 1; }));
  {
    std::lock_guard<std::mutex> guard(mu);
    auto again = held.front().metadata();
    SY_REQUIRE(again.has_value());
    CAF_CHECK_EQUAL(again->num_delivered, 2u);
    CAF_CHECK_EQUAL(again->stream_seq, md->stream_seq);
    CAF_CHECK_EQUAL(held.front().data(), "m0");
    CAF_CHECK(held.front().ack_sync(2s));
    held.clear();
  }
  (*puller)->release();
  CAF_CHECK(wait_until([&] { return stream_messages() == 0; }));
}

CAF_TEST(stop after partial processing loses nothing and hides nothing) {
  constexpr int n = 200;
  publish(0, n);
  std::atomic<bool> stopping{false};
  std::atomic<int> acked{0};
  std::set<std::uint64_t> naked; // distinct stream sequences handed back
  std::unique_ptr<pull_consumer> puller;
  auto opts = keep(10, 5);
  opts.start_paused = true; // `puller` must be set before on_message runs
  std::atomic<int> errors{0};
  opts.on_message = [&](message m) { // on a nats.c thread: no CAF_CHECK here
    // Work until stop begins, then hand everything back.
    if (stopping) {
      if (!m.nak()) ++errors;
      std::lock_guard<std::mutex> guard(mu);
      naked.insert(m.metadata()->stream_seq);
    } else {
      if (!m.ack()) ++errors;
      ++acked;
    }
    puller->release();
  };
  auto started = pull_consumer::start(conn, opts);
  SY_REQUIRE(started);
  puller = std::move(*started);
  puller->resume();
  SY_REQUIRE(wait_until([&] { return acked >= 50; }));
  stopping = true;
  CAF_CHECK(puller->stop(5s));
  int a = acked;
  CAF_CHECK_EQUAL(errors.load(), 0);
  int k = static_cast<int>(naked.size());
  CAF_MESSAGE("acked " << a << ", nak'ed during stop " << k);
  // Every delivered message was seen: what the app nak'ed is all that is
  // pending an ack, the rest was never delivered. (The server applies acks
  // asynchronously, hence the bounded wait.)
  std::int64_t ack_pending = -1;
  std::uint64_t pending = 0;
  wait_until(
      [&] {
        auto info = consumer_info(*conn, "WORK", "worker");
        if (!info) return false;
        ack_pending = info->num_ack_pending;
        pending = info->num_pending;
        return ack_pending == k && stream_messages() == std::uint64_t(n - a);
      },
      2s);
  CAF_CHECK_EQUAL(ack_pending, k);
  CAF_CHECK_EQUAL(pending + static_cast<std::uint64_t>(k), std::uint64_t(n - a));
  CAF_CHECK_EQUAL(stream_messages(), std::uint64_t(n - a));
  // A new puller gets exactly the remainder (ack_wait is 30 s: nothing
  // delivered-but-unseen could come back within this test).
  auto next = pull_consumer::start(conn, keep(50, 25));
  SY_REQUIRE(next);
  int rest = 0;
  while (rest < n - a) {
    if (!wait_until([&] { return held_count() > 0; }, 5s)) break;
    rest += ack_all(**next);
  }
  CAF_CHECK_EQUAL(rest, n - a);
  CAF_CHECK(wait_until([&] { return stream_messages() == 0; }));
}

CAF_TEST(pulling survives a server restart) {
  publish(0, 5);
  auto puller = pull_consumer::start(conn, keep(8, 4));
  SY_REQUIRE(puller);
  SY_REQUIRE(wait_until([&] { return held_count() == 5; }));
  ack_all(**puller);
  CAF_CHECK(conn->flush(2s));
  server.stop();
  CAF_CHECK(wait_until([&] { return !conn->is_connected(); }));
  SY_REQUIRE(server.restart());
  SY_REQUIRE(wait_until([&] { return conn->is_connected(); }));
  // JetStream may need a moment after a restart: retry the first publish.
  SY_REQUIRE(wait_until([&] {
    return static_cast<bool>(conn->js_publish({"work.item", "m5", {}, {}, std::nullopt}, 1s));
  }));
  publish(6, 10);
  CAF_CHECK(wait_until([&] { return seen_count() == 10; }));
  ack_all(**puller);
  CAF_CHECK(wait_until([&] { return stream_messages() == 0; }));
  CAF_CHECK_GREATER_OR_EQUAL((*puller)->stats().credit_resets, 1u);
  CAF_CHECK_LESS_OR_EQUAL(max_held, 8);
}

CAF_TEST(missing heartbeats reset the credit on a fresh inbox) {
  auto opts = keep(4, 2);
  opts.expires = 1s;
  opts.idle_heartbeat = 200ms;
  auto puller = pull_consumer::start(conn, opts);
  SY_REQUIRE(puller);
  CAF_CHECK(wait_until([&] {
    auto info = consumer_info(*conn, "WORK", "worker");
    return info && info->num_waiting > 0;
  }));
  // A hung server: the connection stays open, heartbeats stop.
  SY_REQUIRE(::kill(server.pid(), SIGSTOP) == 0);
  bool reset = wait_until([&] { return (*puller)->stats().credit_resets >= 1; }, 3s);
  ::kill(server.pid(), SIGCONT);
  CAF_CHECK(reset);
  CAF_CHECK(wait_until([&] {
    std::lock_guard<std::mutex> guard(mu);
    for (const auto& st : statuses)
      if (st.code == 0 && st.description.find("heartbeat") != std::string::npos) return true;
    return false;
  }));
  publish(0, 6);
  CAF_CHECK(wait_until([&] { return held_count() == 4; }));
  ack_all(**puller);
  CAF_CHECK(wait_until([&] { return seen_count() == 6; }));
  ack_all(**puller);
  CAF_CHECK_LESS_OR_EQUAL(max_held, 4);
  CAF_CHECK(wait_until([&] { return stream_messages() == 0; }));
}

CAF_TEST(a deleted consumer is reported and pulling retries) {
  auto puller = pull_consumer::start(conn, keep(4, 2));
  SY_REQUIRE(puller);
  CAF_CHECK(wait_until([&] {
    auto info = consumer_info(*conn, "WORK", "worker");
    return info && info->num_waiting > 0;
  }));
  CAF_CHECK(delete_consumer(*conn, "WORK", "worker"));
  CAF_CHECK(wait_until([&] {
    std::lock_guard<std::mutex> guard(mu);
    for (const auto& st : statuses)
      if (st.code == 409) return true;
    return false;
  }));
  CAF_CHECK((*puller)->stop(2s));
  auto missing = pull_consumer::start(conn, keep(4, 2));
  CAF_CHECK(!missing && missing.error().code == sy::errc::not_found);
}

CAF_TEST(a puller that releases on return takes more than its window) {
  constexpr int window = 3;
  auto opts = keep(window, 1);
  opts.release_on_return = true; // `keep` holds the messages, never releases
  auto puller = pull_consumer::start(conn, opts);
  SY_REQUIRE(puller);
  publish(0, 10);
  CAF_CHECK(wait_until([&] { return seen_count() == 10u; }));
  CAF_CHECK_EQUAL((*puller)->stats().held, 0);
  CAF_CHECK((*puller)->stop(5s));
}

CAF_TEST(invalid pull options are rejected) {
  auto o = keep(4, 2);
  o.idle_heartbeat = o.expires;
  CAF_CHECK(!pull_consumer::start(conn, o));
  o = keep(0, 2);
  CAF_CHECK(!pull_consumer::start(conn, o));
  // A window of more than 16 batches would keep too many requests waiting
  // at the server (it rejects all beyond 512).
  auto too_wide = pull_consumer::start(conn, keep(17 * 2, 2));
  CAF_REQUIRE(!too_wide);
  CAF_CHECK(too_wide.error().code == sy::errc::invalid_input);
  CAF_CHECK(pull_consumer::start(conn, keep(16 * 2, 2)));
}

CAF_TEST_FIXTURE_SCOPE_END()
