#define CAF_SUITE runtime.broker.jetstream
#include "caf/test/unit_test.hpp"
#include "runtime/broker/consumer_spec.hpp"
#include "runtime/broker/js_publisher.hpp"
#include "runtime/broker/stream_spec.hpp"
#include "tests/runtime/broker/broker_fixture.hpp"

#include <atomic>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

using namespace sy::broker;
using namespace sy::broker::testing;
using namespace std::chrono_literals;

namespace {

stream_spec queue_spec() {
  stream_spec spec;
  spec.name = "SY_QUEUES";
  spec.subjects = {"sy.queue.>"};
  spec.retention = retention_policy::workqueue;
  spec.duplicate_window = 2min;
  return spec;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// Messages in `stream`, or a huge number if it cannot be read.
std::uint64_t messages_in(connection& conn, const std::string& stream) {
  auto info = stream_info(conn, stream);
  return info ? info->messages : ~std::uint64_t{0};
}

/// The outcome, or nullopt on error (so that checks never dereference an error).
template <class T> std::optional<T> value_or_none(sy::expected<T> r) {
  if (!r) {
    CAF_MESSAGE("unexpected error: " << r.error().message);
    return std::nullopt;
  }
  return *r;
}

/// Publishes asynchronously and waits for the outcome.
sy::expected<pub_ack> publish_and_wait(connection& conn, const outgoing_message& msg) {
  std::promise<sy::expected<pub_ack>> done;
  auto result = done.get_future();
  conn.js_publish_async(msg, [&done](sy::expected<pub_ack> r) { done.set_value(std::move(r)); });
  if (result.wait_for(10s) != std::future_status::ready)
    return sy::make_error(sy::errc::internal, "the handler was never called");
  return result.get();
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(jetstream_tests, broker_fixture)

CAF_TEST(ensure stream creates once and is idempotent) {
  auto first = ensure_stream(*conn, queue_spec());
  SY_REQUIRE(first);
  CAF_CHECK(*first == ensure_outcome::created);
  auto second = ensure_stream(*conn, queue_spec());
  SY_REQUIRE(second);
  CAF_CHECK(*second == ensure_outcome::unchanged);
  auto wider = queue_spec();
  wider.subjects = {"sy.queue.*.high", "sy.extra.>"}; // first covered, second new
  wider.max_age = 1h;
  auto third = ensure_stream(*conn, wider);
  SY_REQUIRE(third);
  CAF_CHECK(*third == ensure_outcome::updated);
  CAF_CHECK(value_or_none(ensure_stream(*conn, wider)) == ensure_outcome::unchanged);
  auto info = stream_info(*conn, "SY_QUEUES");
  SY_REQUIRE(info);
  CAF_CHECK_EQUAL(info->messages, 0u);
  CAF_CHECK(!info->clustered); // a standalone server (the cluster test sees the other case)
  CAF_CHECK(conn->js_publish({"sy.extra.x", "x", {}, {}, std::nullopt}, 2s));
}

CAF_TEST(ensure stream rejects an incompatible stream naming the field) {
  auto limits = queue_spec();
  limits.retention = retention_policy::limits;
  SY_REQUIRE(ensure_stream(*conn, limits));
  auto r = ensure_stream(*conn, queue_spec());
  SY_REQUIRE(!r);
  CAF_CHECK(r.error().code == sy::errc::conflict);
  CAF_CHECK_EQUAL(r.error().message, "stream SY_QUEUES exists with retention=limits, switchyard "
                                     "needs workqueue; delete it or fix the config");
  auto memory = limits;
  memory.storage = storage_type::memory;
  auto m = ensure_stream(*conn, memory);
  SY_REQUIRE(!m);
  CAF_CHECK(contains(m.error().message, "storage=file, switchyard needs memory"));
}

CAF_TEST(async publish acks with sequences and reports duplicates) {
  SY_REQUIRE(ensure_stream(*conn, queue_spec()));
  outgoing_message msg{"sy.queue.a.normal", "payload", {{"X-Kind", "t"}}, "uid-1", std::nullopt};
  auto a = publish_and_wait(*conn, msg);
  SY_REQUIRE(a);
  CAF_CHECK_EQUAL(a->stream, "SY_QUEUES");
  CAF_CHECK_EQUAL(a->seq, 1u);
  CAF_CHECK(!a->duplicate);
  auto again = publish_and_wait(*conn, msg);
  SY_REQUIRE(again);
  CAF_CHECK(again->duplicate);
  CAF_CHECK_EQUAL(again->seq, 1u);
  msg.msg_id = "uid-2";
  auto b = publish_and_wait(*conn, msg);
  SY_REQUIRE(b);
  CAF_CHECK_EQUAL(b->seq, 2u);
  // Many in flight at once: every handler runs exactly once.
  constexpr int n = 500;
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  for (int i = 0; i < n; ++i)
    conn->js_publish_async({"sy.queue.b.low", std::to_string(i), {}, {}, std::nullopt},
                           [&](sy::expected<pub_ack> r) { ++(r ? ok : failed); });
  CAF_CHECK(wait_until([&] { return ok + failed == n; }));
  CAF_CHECK_EQUAL(ok.load(), n);
  CAF_CHECK_EQUAL(conn->pending_publishes(), 0u);
  CAF_CHECK_EQUAL(messages_in(*conn, "SY_QUEUES"), std::uint64_t{n + 2});
}

CAF_TEST(ensure stream with exact subjects drops the others) {
  auto wide = queue_spec(); // sy.queue.>
  SY_REQUIRE(ensure_stream(*conn, wide));
  auto exact = queue_spec();
  exact.subjects = {"sy.queue.*.high", "sy.queue.*.low"};
  exact.exact_subjects = true;
  CAF_CHECK(value_or_none(ensure_stream(*conn, exact)) == ensure_outcome::updated);
  CAF_CHECK(value_or_none(ensure_stream(*conn, exact)) == ensure_outcome::unchanged);
  CAF_CHECK(conn->js_publish({"sy.queue.a.high", "x", {}, {}, std::nullopt}, 2s));
  auto dropped = conn->js_publish({"sy.queue.a.urgent", "x", {}, {}, std::nullopt}, 1s);
  CAF_CHECK(!dropped && dropped.error().code == sy::errc::unavailable);
  CAF_CHECK_EQUAL(messages_in(*conn, "SY_QUEUES"), 1u);
}

CAF_TEST(publish expectations and missing streams are errors) {
  SY_REQUIRE(ensure_stream(*conn, queue_spec()));
  outgoing_message msg{"sy.queue.c.high", "v1", {}, {}, std::uint64_t{0}};
  auto first = conn->js_publish(msg, 2s);
  SY_REQUIRE(first);
  msg.expected_last_subject_seq = 0; // the subject is not empty any more
  auto stale = publish_and_wait(*conn, msg);
  SY_REQUIRE(!stale);
  CAF_CHECK(stale.error().code == sy::errc::conflict);
  CAF_MESSAGE(stale.error().message);
  msg.expected_last_subject_seq = first->seq;
  CAF_CHECK(publish_and_wait(*conn, msg));
  auto nowhere = publish_and_wait(*conn, {"no.stream.here", "x", {}, {}, std::nullopt});
  SY_REQUIRE(!nowhere);
  CAF_CHECK(nowhere.error().code == sy::errc::unavailable);
  CAF_CHECK(contains(nowhere.error().message, "no.stream.here"));
  auto nowhere_sync = conn->js_publish({"no.stream.here", "x", {}, {}, std::nullopt}, 1s);
  CAF_CHECK(!nowhere_sync && nowhere_sync.error().code == sy::errc::unavailable);
}

CAF_TEST(a lost ack times out instead of leaving the handler pending) {
  SY_REQUIRE(ensure_stream(*conn, queue_spec()));
  auto opts = test_options(server.url());
  opts.publish_ack_timeout = 300ms;
  auto fast = connection::connect(opts);
  SY_REQUIRE(fast);
  server.stop();
  CAF_CHECK(wait_until([&] { return !(*fast)->is_connected(); }));
  auto started = std::chrono::steady_clock::now();
  auto r = publish_and_wait(**fast, {"sy.queue.d.normal", "x", {}, "d1", std::nullopt});
  SY_REQUIRE(!r);
  CAF_CHECK(r.error().code == sy::errc::unavailable);
  CAF_MESSAGE(r.error().message);
  CAF_CHECK(std::chrono::steady_clock::now() - started < 5s);
  CAF_CHECK_EQUAL((*fast)->pending_publishes(), 0u);
}

CAF_TEST(purge and delete remove messages) {
  SY_REQUIRE(ensure_stream(*conn, queue_spec()));
  for (auto subject : {"sy.queue.e.low", "sy.queue.e.low", "sy.queue.f.low"})
    SY_REQUIRE(conn->js_publish({subject, "x", {}, {}, std::nullopt}, 2s));
  CAF_CHECK(delete_stream_message(*conn, "SY_QUEUES", 1));
  CAF_CHECK_EQUAL(messages_in(*conn, "SY_QUEUES"), 2u);
  auto missing = delete_stream_message(*conn, "SY_QUEUES", 1);
  CAF_CHECK(!missing);
  // Without waiting: the request goes out, the stream removes the message.
  CAF_CHECK(request_message_delete(*conn, "SY_QUEUES", 2));
  for (int i = 0; i < 100 && messages_in(*conn, "SY_QUEUES") != 1u; ++i)
    std::this_thread::sleep_for(10ms);
  CAF_CHECK_EQUAL(messages_in(*conn, "SY_QUEUES"), 1u);
  SY_REQUIRE(conn->js_publish({"sy.queue.e.low", "x", {}, {}, std::nullopt}, 2s));
  CAF_CHECK(purge_stream(*conn, "SY_QUEUES", "sy.queue.e.>"));
  CAF_CHECK_EQUAL(messages_in(*conn, "SY_QUEUES"), 1u);
  CAF_CHECK(purge_stream(*conn, "SY_QUEUES"));
  CAF_CHECK_EQUAL(messages_in(*conn, "SY_QUEUES"), 0u);
  auto none = stream_info(*conn, "NOPE");
  CAF_CHECK(!none && none.error().code == sy::errc::not_found);
  CAF_CHECK(delete_stream(*conn, "SY_QUEUES"));
}

CAF_TEST(a purge below a sequence keeps that message and the later ones) {
  auto spec = queue_spec();
  spec.allow_direct = true; // to read the first message back
  SY_REQUIRE(ensure_stream(*conn, spec));
  for (auto subject : {"sy.queue.e.low", "sy.queue.f.low", "sy.queue.e.low", "sy.queue.f.low"})
    SY_REQUIRE(conn->js_publish({subject, "x", {}, {}, std::nullopt}, 2s));
  CAF_CHECK(purge_stream_below(*conn, "SY_QUEUES", "sy.queue.>", 3));
  CAF_CHECK_EQUAL(messages_in(*conn, "SY_QUEUES"), 2u);
  auto first = next_stored_message(*conn, "SY_QUEUES", "sy.queue.>", 1);
  CAF_CHECK(first && *first && (*first)->seq == 3u);
  // Below a sequence already gone: nothing more goes.
  CAF_CHECK(purge_stream_below(*conn, "SY_QUEUES", "sy.queue.>", 2));
  CAF_CHECK_EQUAL(messages_in(*conn, "SY_QUEUES"), 2u);
  auto none = purge_stream_below(*conn, "NOPE", "sy.queue.>", 2);
  CAF_CHECK(!none);
  CAF_CHECK(delete_stream(*conn, "SY_QUEUES"));
}

CAF_TEST(ensure consumer creates updates and rejects incompatible shapes) {
  SY_REQUIRE(ensure_stream(*conn, queue_spec()));
  consumer_spec spec;
  spec.stream = "SY_QUEUES";
  spec.durable = "classifier";
  spec.filter_subject = "sy.queue.classifier.>";
  spec.max_ack_pending = 50;
  auto first = ensure_consumer(*conn, spec);
  SY_REQUIRE(first);
  CAF_CHECK(*first == ensure_outcome::created);
  CAF_CHECK(value_or_none(ensure_consumer(*conn, spec)) == ensure_outcome::unchanged);
  spec.ack_wait = 10s;
  spec.max_deliver = 5;
  spec.max_ack_pending = 20;
  CAF_CHECK(value_or_none(ensure_consumer(*conn, spec)) == ensure_outcome::updated);
  CAF_CHECK(value_or_none(ensure_consumer(*conn, spec)) == ensure_outcome::unchanged);
  auto moved = spec;
  moved.filter_subject = "sy.queue.other.>";
  auto r = ensure_consumer(*conn, moved);
  SY_REQUIRE(!r);
  CAF_CHECK(r.error().code == sy::errc::conflict);
  CAF_CHECK(contains(r.error().message, "filter_subject"));
  // A second consumer overlapping the first on a work queue.
  auto twin = spec;
  twin.durable = "twin";
  auto t = ensure_consumer(*conn, twin);
  CAF_CHECK(!t && t.error().code == sy::errc::conflict);
  auto info = consumer_info(*conn, "SY_QUEUES", "classifier");
  SY_REQUIRE(info);
  CAF_CHECK_EQUAL(info->num_pending, 0u);
  CAF_CHECK(delete_consumer(*conn, "SY_QUEUES", "classifier"));
  auto gone = consumer_info(*conn, "SY_QUEUES", "classifier");
  CAF_CHECK(!gone && gone.error().code == sy::errc::not_found);
  spec.stream = "NOPE";
  auto orphan = ensure_consumer(*conn, spec);
  CAF_CHECK(!orphan && orphan.error().code == sy::errc::not_found);
}

CAF_TEST(pages through one subject by sequence and counts subjects) {
  auto spec = queue_spec();
  spec.allow_direct = true;
  SY_REQUIRE(ensure_stream(*conn, spec));
  for (auto subject : {"sy.queue.a.1", "sy.queue.b.1", "sy.queue.a.2", "sy.queue.a.3"})
    SY_REQUIRE(conn->js_publish({subject, subject, {}, {}, {}}, 5s));
  std::vector<std::string> seen;
  std::uint64_t from = 0;
  for (;;) {
    auto next = next_stored_message(*conn, "SY_QUEUES", "sy.queue.a.*", from);
    SY_REQUIRE(next);
    if (!*next) break;
    CAF_CHECK_EQUAL((*next)->subject, (*next)->data);
    seen.push_back((*next)->subject);
    from = (*next)->seq + 1;
  }
  CAF_CHECK_EQUAL(seen, (std::vector<std::string>{"sy.queue.a.1", "sy.queue.a.2", "sy.queue.a.3"}));
  // The same in pages of two: the cursor continues where a page ended.
  auto first = read_stored_page(*conn, "SY_QUEUES", "sy.queue.a.*", 0, 2);
  SY_REQUIRE(first && first->next);
  CAF_CHECK_EQUAL(first->messages.size(), 2u);
  auto second = read_stored_page(*conn, "SY_QUEUES", "sy.queue.a.*", *first->next, 2);
  SY_REQUIRE(second);
  CAF_CHECK(!second->next);
  SY_REQUIRE(second->messages.size() == 1u);
  CAF_CHECK_EQUAL(second->messages[0].subject, "sy.queue.a.3");
  CAF_CHECK_EQUAL(value_or_none(count_subjects(*conn, "SY_QUEUES", "sy.queue.a.*")), 3u);
  CAF_CHECK_EQUAL(value_or_none(count_subjects(*conn, "SY_QUEUES", "sy.queue.b.*")), 1u);
  CAF_CHECK_EQUAL(value_or_none(count_subjects(*conn, "SY_QUEUES", "sy.queue.c.*")), 0u);
  auto missing = count_subjects(*conn, "NOPE", ">");
  CAF_CHECK(!missing && missing.error().code == sy::errc::not_found);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST(pub acks as each server version writes them are read without a JSON parser) {
  auto spaced = read_plain_pub_ack(R"({"stream":"SY_QUEUES", "seq":42})"); // 2.9
  SY_REQUIRE(spaced);
  CAF_CHECK_EQUAL(spaced->stream, "SY_QUEUES");
  CAF_CHECK_EQUAL(spaced->seq, 42u);
  CAF_CHECK(!spaced->duplicate);
  auto dup = read_plain_pub_ack(R"({"stream":"KV_sy_tasks","seq":7,"duplicate": true})");
  SY_REQUIRE(dup);
  CAF_CHECK_EQUAL(dup->stream, "KV_sy_tasks");
  CAF_CHECK_EQUAL(dup->seq, 7u);
  CAF_CHECK(dup->duplicate);
  // Left to the JSON parser: a domain, an error, anything unexpected.
  CAF_CHECK(!read_plain_pub_ack(R"({"stream":"S", "domain":"hub", "seq":1})"));
  CAF_CHECK(!read_plain_pub_ack(R"({"error":{"code":503,"err_code":10077}})"));
  CAF_CHECK(!read_plain_pub_ack(R"({"stream":"S\"Q", "seq":1})"));
  CAF_CHECK(!read_plain_pub_ack(R"({"stream":"S", "seq":1, "duplicate": false})"));
  CAF_CHECK(!read_plain_pub_ack(R"({"stream":"S", "seq":1} )"));
  CAF_CHECK(!read_plain_pub_ack(R"({"stream":"S", "seq":0})"));
  CAF_CHECK(!read_plain_pub_ack(R"({"stream":"S", "seq":-1})"));
  CAF_CHECK(!read_plain_pub_ack(R"({"stream":"S", "seq":18446744073709551616})"));
  CAF_CHECK(!read_plain_pub_ack(R"({"stream":"S", "seq":12)"));
}
