#define CAF_SUITE runtime.broker.connection
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/broker/connection.hpp"
#include "runtime/broker/embedded_server.hpp"
#include "runtime/broker/message.hpp"
#include "runtime/broker/stream_spec.hpp"
#include "runtime/broker/subject.hpp"
#include "runtime/broker/write_batch.hpp"
#include "runtime/core/cpu_affinity.hpp"
#include "tests/runtime/broker/broker_fixture.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <unistd.h>
#include <vector>

using namespace sy::broker;
using namespace sy::broker::testing;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

CAF_TEST(connecting to a closed port is an unavailable error that names the url) {
  auto url = "nats://127.0.0.1:" + std::to_string(free_loopback_port());
  auto opts = test_options(url);
  opts.connect_timeout = 500ms;
  auto conn = connection::connect(opts);
  SY_REQUIRE(!conn);
  CAF_CHECK(conn.error().code == sy::errc::unavailable);
  CAF_MESSAGE(conn.error().message);
  CAF_CHECK(contains(conn.error().message, "cannot reach NATS at " + url));
  CAF_CHECK(contains(conn.error().message, "is nats-server running?"));
}

CAF_TEST(a malformed url is an error) {
  auto opts = test_options("nats://127.0.0.1:notaport");
  opts.connect_timeout = 200ms;
  auto conn = connection::connect(opts);
  SY_REQUIRE(!conn);
  CAF_CHECK(conn.error().code == sy::errc::invalid_input);
  CAF_MESSAGE(conn.error().message);
}

CAF_TEST(ack subjects parse into metadata in both layouts) {
  auto v1 = parse_ack_subject("$JS.ACK.SY_QUEUES.classifier.3.41.17.1700000000123456789.9");
  SY_REQUIRE(v1.has_value());
  CAF_CHECK_EQUAL(v1->stream, "SY_QUEUES");
  CAF_CHECK_EQUAL(v1->consumer, "classifier");
  CAF_CHECK_EQUAL(v1->num_delivered, 3u);
  CAF_CHECK_EQUAL(v1->stream_seq, 41u);
  CAF_CHECK_EQUAL(v1->consumer_seq, 17u);
  CAF_CHECK_EQUAL(v1->num_pending, 9u);
  CAF_CHECK_EQUAL(v1->timestamp.time_since_epoch().count() > 0, true);
  auto v2 = parse_ack_subject("$JS.ACK.hub.ACCHASH.S.c.1.2.3.1700000000000000000.0.xyz");
  SY_REQUIRE(v2.has_value());
  CAF_CHECK_EQUAL(v2->stream, "S");
  CAF_CHECK_EQUAL(v2->consumer_seq, 3u);
  CAF_CHECK(!parse_ack_subject("_INBOX.abc.1"));
  CAF_CHECK(!parse_ack_subject("$JS.ACK.S.c.x.2.3.4.5"));
}

CAF_TEST(subject patterns cover narrower subjects only) {
  CAF_CHECK(subject_covers("sy.queue.>", "sy.queue.a.high"));
  CAF_CHECK(subject_covers("sy.queue.>", "sy.queue.*.high"));
  CAF_CHECK(subject_covers("sy.queue.*.*", "sy.queue.a.high"));
  CAF_CHECK(subject_covers("sy.queue.a.high", "sy.queue.a.high"));
  CAF_CHECK(!subject_covers("sy.queue.*", "sy.queue.a.high"));
  CAF_CHECK(!subject_covers("sy.queue.a.high", "sy.queue.*.high"));
  CAF_CHECK(!subject_covers("sy.queue.>", "sy.queue"));
  CAF_CHECK(!subject_covers("sy.unrouted.*", "sy.queue.a"));
}

CAF_TEST_FIXTURE_SCOPE(connection_tests, broker_fixture)

CAF_TEST(publish subscribe and request carry data and headers) {
  std::mutex mu;
  std::vector<std::string> got;
  std::atomic<int> reply_errors{0};
  auto echo = conn->subscribe("svc.echo", [&](message msg) { // no CAF_CHECK off the main thread
    {
      std::lock_guard<std::mutex> guard(mu);
      got.push_back(std::string(msg.data()) + "|" + msg.header("X-Test").value_or("-"));
    }
    if (!msg.reply().empty() && !conn->publish(msg.reply(), "echo:" + std::string(msg.data())))
      ++reply_errors;
  });
  SY_REQUIRE(echo);
  CAF_CHECK(conn->flush(2s));
  CAF_CHECK(conn->publish("svc.echo", "one", {{"X-Test", "yes"}}));
  auto reply = conn->request("svc.echo", "two", 2s);
  SY_REQUIRE(reply);
  CAF_CHECK_EQUAL(reply->data(), "echo:two");
  CAF_CHECK(wait_until([&] {
    std::lock_guard<std::mutex> guard(mu);
    return got.size() == 2;
  }));
  CAF_CHECK_EQUAL(reply_errors.load(), 0);
  std::lock_guard<std::mutex> guard(mu);
  CAF_CHECK_EQUAL(got.at(0), "one|yes");
  CAF_CHECK_EQUAL(got.at(1), "two|-");
}

CAF_TEST(a request without responder is unavailable) {
  auto reply = conn->request("svc.nobody", "x", 1s);
  SY_REQUIRE(!reply);
  CAF_CHECK(reply.error().code == sy::errc::unavailable);
  CAF_MESSAGE(reply.error().message);
}

CAF_TEST(an unsubscribed handler is never called again) {
  std::atomic<int> calls{0};
  auto sub = conn->subscribe("svc.count", [&](message) { ++calls; });
  SY_REQUIRE(sub);
  CAF_CHECK(conn->publish("svc.count", "1"));
  CAF_CHECK(wait_until([&] { return calls == 1; }));
  sub->unsubscribe();
  CAF_CHECK(!sub->valid());
  CAF_CHECK(conn->publish("svc.count", "2"));
  CAF_CHECK(conn->flush(2s));
  CAF_CHECK_EQUAL(calls.load(), 1);
  CAF_CHECK(conn->is_connected());
  CAF_CHECK_EQUAL(conn->connected_url(), server.url());
  CAF_CHECK(conn->new_inbox().rfind("_INBOX.", 0) == 0);
}

CAF_TEST(a server that stops answering is noticed within seconds and reconnected to) {
  // A hung or cut-off server keeps the TCP connection open; only the
  // client's unanswered PINGs tell (two intervals of 2 s by default).
  std::atomic<int> lost{0};
  std::atomic<int> back{0};
  auto opts = test_options(server.url());
  opts.on_disconnected = [&](const std::string&) { lost++; };
  opts.on_reconnected = [&](const std::string&) { back++; };
  auto watched = connection::connect(opts);
  SY_REQUIRE(watched);
  SY_REQUIRE(::kill(server.pid(), SIGSTOP) == 0);
  auto stopped = std::chrono::steady_clock::now();
  bool noticed = wait_until([&] { return lost > 0; }, 15s);
  auto after = std::chrono::steady_clock::now() - stopped;
  ::kill(server.pid(), SIGCONT);
  CAF_CHECK(noticed);
  CAF_CHECK(after < 10s);
  CAF_CHECK(wait_until([&] { return back > 0; }, 15s));
  CAF_CHECK((*watched)->is_connected());
}

CAF_TEST(a publish outside a write batch is on the wire when it returns) {
  CAF_CHECK(conn->publish("svc.unbatched", "now"));
  CAF_CHECK_EQUAL(conn->buffered_bytes(), 0);
  std::atomic<int> acks{0};
  sy::broker::outgoing_message m;
  m.subject = "svc.unbatched";
  m.data = "js";
  conn->js_publish_async(m, [&](sy::expected<pub_ack>) { ++acks; });
  CAF_CHECK_EQUAL(conn->buffered_bytes(), 0);
  CAF_CHECK(wait_until([&] { return acks == 1; })); // no stream: failed, but answered
}

CAF_TEST(a write batch writes what it held when the outermost batch ends in order) {
  std::mutex mu;
  std::vector<std::string> got;
  auto sub = conn->subscribe("svc.batched", [&](message msg) {
    std::lock_guard<std::mutex> guard(mu);
    got.emplace_back(msg.data());
  });
  SY_REQUIRE(sub);
  CAF_CHECK(conn->flush(2s));
  {
    write_batch outer;
    for (int i = 0; i < 100; ++i) {
      write_batch inner; // nested: ending it writes nothing yet
      CAF_CHECK(conn->publish("svc.batched", std::to_string(i)));
    }
    outer.end();
    CAF_CHECK_EQUAL(conn->buffered_bytes(), 0);
  }
  CAF_CHECK(wait_until([&] {
    std::lock_guard<std::mutex> guard(mu);
    return got.size() == 100;
  }));
  std::lock_guard<std::mutex> guard(mu);
  for (int i = 0; i < static_cast<int>(got.size()); ++i)
    CAF_CHECK_EQUAL(got[static_cast<std::size_t>(i)], std::to_string(i));
}

CAF_TEST(writes held for more coming go out with the next batch or soon after) {
  std::atomic<int> got{0};
  auto sub = conn->subscribe("svc.held", [&](message) { ++got; });
  SY_REQUIRE(sub);
  CAF_CHECK(conn->flush(2s));
  {
    write_batch first;
    CAF_CHECK(conn->publish("svc.held", "a"));
    CAF_CHECK(conn->publish("svc.held", "b"));
    first.end(true);
  }
  {
    write_batch next; // writes nothing itself, but what the last one held
  }
  CAF_CHECK_EQUAL(conn->buffered_bytes(), 0);
  // No batch follows: the held-over writer writes them.
  {
    write_batch last;
    CAF_CHECK(conn->publish("svc.held", "c"));
    last.end(true);
  }
  CAF_CHECK(wait_until([&] { return conn->buffered_bytes() == 0; }));
  CAF_CHECK(wait_until([&] { return got == 3; }));
}

CAF_TEST(a batched JetStream publish with headers is stored once per msg id) {
  stream_spec spec;
  spec.name = "SY_BATCHED";
  spec.subjects = {"svc.stored.>"};
  spec.allow_direct = true;
  SY_REQUIRE(ensure_stream(*conn, spec));
  std::mutex mu;
  std::vector<pub_ack> acks;
  std::vector<std::string> errors;
  auto record = [&](sy::expected<pub_ack> ack) {
    std::lock_guard<std::mutex> guard(mu);
    if (ack)
      acks.push_back(*ack);
    else
      errors.push_back(ack.error().message);
  };
  outgoing_message m;
  m.subject = "svc.stored.a";
  m.data = "payload";
  m.headers = {{"X-Test", "kept"}, {"Nats-Msg-Id", "replaced"}};
  m.msg_id = "task-1";
  auto again = m;
  again.headers = {{"Nats-Msg-Id", "replaced-too"}};
  {
    write_batch batch;
    conn->js_publish_async(m, record);
    conn->js_publish_async(again, record); // msg_id task-1 in both: a duplicate
  }
  CAF_CHECK(wait_until([&] {
    std::lock_guard<std::mutex> guard(mu);
    return acks.size() + errors.size() == 2;
  }));
  std::lock_guard<std::mutex> guard(mu);
  CAF_CHECK(errors.empty());
  SY_REQUIRE(acks.size() == 2);
  CAF_CHECK(!acks[0].duplicate);
  CAF_CHECK(acks[1].duplicate);
  auto stored = next_stored_message(*conn, "SY_BATCHED", "svc.stored.a", 1);
  SY_REQUIRE(stored && *stored);
  CAF_CHECK_EQUAL((*stored)->data, "payload");
  auto info = stream_info(*conn, "SY_BATCHED");
  SY_REQUIRE(info);
  CAF_CHECK_EQUAL(info->messages, 1u);
}

CAF_TEST(a batched message over the max payload fails as an unbatched one would) {
  std::string big(2 * 1024 * 1024, 'x'); // the server's default limit is 1 MiB
  {
    write_batch batch;
    auto sent = conn->publish("svc.big", big);
    SY_REQUIRE(!sent);
    CAF_MESSAGE(sent.error().message);
    CAF_CHECK(conn->publish("svc.big", "small"));
  }
  // The server did not see the oversized message: the connection is intact.
  CAF_CHECK(conn->flush(2s));
  CAF_CHECK(conn->is_connected());
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST(an embedded server starts on a free port accepts a connection and stops) {
  auto dir = std::filesystem::temp_directory_path() / ("sy-embedded-" + std::to_string(::getpid()));
  embedded_server_options opts;
  opts.data_dir = dir.string();
  auto server = embedded_server::start(opts);
  SY_REQUIRE(server);
  CAF_CHECK(server->port() != 0);
  CAF_CHECK(server->is_running());
  CAF_CHECK(server->pid() > 0);
  {
    auto conn = connection::connect(test_options(server->url()));
    CAF_CHECK(conn);
    CAF_CHECK(conn && (*conn)->is_connected());
  }
  server->stop();
  CAF_CHECK(!server->is_running());
  CAF_CHECK_EQUAL(server->pid(), -1);
  auto opts2 = test_options(server->url());
  opts2.connect_timeout = 300ms;
  CAF_CHECK(!connection::connect(opts2));
  CAF_CHECK(std::filesystem::exists(dir / "nats-server.log"));
  std::filesystem::remove_all(dir);
}

namespace {

/// The GOMAXPROCS and GOGC entries of a process's environment.
std::vector<std::string> go_settings_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  std::vector<std::string> out;
  std::string entry;
  while (std::getline(in, entry, '\0'))
    if (entry.rfind("GOMAXPROCS=", 0) == 0 || entry.rfind("GOGC=", 0) == 0) out.push_back(entry);
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

CAF_TEST(an embedded server runs with the threads and garbage collection it was given) {
  ::setenv("GOMAXPROCS", "7", 1);
  ::setenv("GOGC", "50", 1);
  embedded_server_options opts;
  opts.data_dir = (std::filesystem::temp_directory_path() /
                   ("sy-embedded-threads-" + std::to_string(::getpid())))
                      .string();
  opts.threads = 1;
  opts.gc_percent = 400;
  auto limited = embedded_server::start(opts);
  SY_REQUIRE(limited);
  CAF_CHECK_EQUAL(go_settings_of(limited->pid()),
                  (std::vector<std::string>{"GOGC=400", "GOMAXPROCS=1"}));
  limited->stop();
  // 0 leaves the environment as it is.
  opts.threads = 0;
  opts.gc_percent = 0;
  auto inherited = embedded_server::start(opts);
  SY_REQUIRE(inherited);
  CAF_CHECK_EQUAL(go_settings_of(inherited->pid()),
                  (std::vector<std::string>{"GOGC=50", "GOMAXPROCS=7"}));
  inherited->stop();
  ::unsetenv("GOMAXPROCS");
  ::unsetenv("GOGC");
  CAF_CHECK(shared_machine_server_threads() >= 1);
  std::filesystem::remove_all(opts.data_dir);
}

CAF_TEST(an embedded server runs on the cpus it was given) {
  auto allowed = sy::allowed_cpus();
  CAF_REQUIRE(allowed && !allowed->empty());
  embedded_server_options opts;
  opts.data_dir =
      (std::filesystem::temp_directory_path() / ("sy-embedded-cpus-" + std::to_string(::getpid())))
          .string();
  // A CPU number that cannot be, and one this process may not use.
  opts.cpus = {-1};
  auto invalid = embedded_server::start(opts);
  CAF_REQUIRE(!invalid);
  CAF_CHECK(contains(invalid.error().message, "cannot run on CPU -1: no such CPU number"));
  if (allowed->back() < 1023) {
    opts.cpus = {1023};
    auto elsewhere = embedded_server::start(opts);
    CAF_REQUIRE(!elsewhere);
    CAF_CHECK(contains(elsewhere.error().message, "cannot run nats-server on CPUs 1023: "));
  }
  if (allowed->size() < 2) {
    CAF_MESSAGE("one CPU only: nothing to place the server on apart");
    std::filesystem::remove_all(opts.data_dir);
    return;
  }
  opts.cpus = {allowed->back()};
  auto server = embedded_server::start(opts);
  SY_REQUIRE(server);
  auto placed = sy::allowed_cpus(server->pid());
  CAF_CHECK(placed && *placed == opts.cpus);
  server->stop();
  std::filesystem::remove_all(opts.data_dir);
}

CAF_TEST(an embedded server reports a missing binary clearly) {
  embedded_server_options opts;
  opts.data_dir = (std::filesystem::temp_directory_path() / "sy-embedded-missing").string();
  opts.binary = "/nonexistent/nats-server";
  auto server = embedded_server::start(opts);
  SY_REQUIRE(!server);
  CAF_MESSAGE(server.error().message);
  CAF_CHECK(contains(server.error().message, "/nonexistent/nats-server"));
  std::filesystem::remove_all(opts.data_dir);
}
