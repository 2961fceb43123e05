// A throughput check, not a test: N messages through publish_async -> a
// work-queue stream (file storage) -> pull_consumer -> ack, in one process,
// against a real nats-server. Prints rates; asserts nothing.
//
//   bench_broker [messages=50000] [window=1000] [batch=250] [payload bytes=200]
//
// Then 200 single messages into the idle puller: publish-to-delivery latency.

#include "runtime/broker/connection.hpp"
#include "runtime/broker/consumer_spec.hpp"
#include "runtime/broker/pull_consumer.hpp"
#include "runtime/broker/stream_spec.hpp"
#include "tests/support/nats_server.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

using namespace sy::broker;
using namespace std::chrono;

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 50000;
  int window = argc > 2 ? std::atoi(argv[2]) : 1000;
  int batch = argc > 3 ? std::atoi(argv[3]) : 250;
  std::size_t payload = argc > 4 ? static_cast<std::size_t>(std::atoi(argv[4])) : 200;
  constexpr std::size_t max_in_flight = 4000;

  sy::test::nats_server server;
  connection_options opts;
  opts.urls = {server.url()};
  auto conn = connection::connect(opts);
  if (!conn) {
    std::fprintf(stderr, "%s\n", conn.error().message.c_str());
    return 1;
  }
  stream_spec s;
  s.name = "BENCH";
  s.subjects = {"bench.>"};
  s.retention = retention_policy::workqueue;
  consumer_spec c;
  c.stream = "BENCH";
  c.durable = "bench";
  c.max_ack_pending = window;
  if (auto r = ensure_stream(**conn, s); !r)
    return std::fprintf(stderr, "%s\n", r.error().message.c_str()), 1;
  if (auto r = ensure_consumer(**conn, c); !r)
    return std::fprintf(stderr, "%s\n", r.error().message.c_str()), 1;

  std::atomic<int> acked{0};
  std::atomic<int> published{0};
  std::atomic<int> failed{0};
  pull_consumer* raw = nullptr;
  pull_options po;
  po.stream = "BENCH";
  po.consumer = "bench";
  po.window = window;
  po.batch = batch;
  po.start_paused = true;
  po.on_message = [&](message m) {
    (void)m.ack();
    raw->release();
    ++acked;
  };
  auto puller = pull_consumer::start(*conn, po);
  if (!puller) return std::fprintf(stderr, "%s\n", puller.error().message.c_str()), 1;
  raw = puller->get();
  raw->resume();

  std::string body(payload, 'x');
  auto start = steady_clock::now();
  for (int i = 0; i < n; ++i) {
    while ((*conn)->pending_publishes() >= max_in_flight)
      std::this_thread::yield();
    (*conn)->js_publish_async({"bench.item", body, {}, "id-" + std::to_string(i), std::nullopt},
                              [&](sy::expected<pub_ack> r) { ++(r ? published : failed); });
  }
  while (published + failed < n)
    std::this_thread::sleep_for(milliseconds(1));
  auto pub_done = steady_clock::now();
  auto deadline = pub_done + seconds(60);
  while (acked < n && steady_clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(1));
  auto all_done = steady_clock::now();
  int acked_at_end = acked;

  // Idle latency: one message at a time into an idle puller (a request is
  // always waiting at the server), publish to delivery.
  std::vector<double> latencies;
  for (int i = 0; i < 200; ++i) {
    int before = acked;
    auto sent = steady_clock::now();
    (*conn)->js_publish_async({"bench.item", body, {}, {}, std::nullopt}, [](auto) {});
    while (acked == before && steady_clock::now() - sent < seconds(5))
      std::this_thread::yield();
    latencies.push_back(
        duration_cast<duration<double, std::micro>>(steady_clock::now() - sent).count());
  }
  std::sort(latencies.begin(), latencies.end());
  (void)raw->stop(seconds(5));

  auto secs = [](auto d) { return duration_cast<duration<double>>(d).count(); };
  auto stats = raw->stats();
  std::printf("messages %d, payload %zu B, window %d, batch %d, max in flight %zu\n", n, payload,
              window, batch, max_in_flight);
  std::printf("publish+ack confirmed: %.0f msg/s (%d failed)\n", n / secs(pub_done - start),
              failed.load());
  std::printf("end to end (publish, pull, ack): %.0f msg/s, %d acked in %.2f s\n",
              acked_at_end / secs(all_done - start), acked_at_end, secs(all_done - start));
  std::printf("pull requests sent: %llu (%.1f messages per request)\n",
              static_cast<unsigned long long>(stats.requests),
              stats.requests ? static_cast<double>(stats.delivered) / stats.requests : 0.0);
  std::printf("idle publish-to-delivery latency: median %.0f us, p99 %.0f us\n",
              latencies[latencies.size() / 2], latencies[latencies.size() * 99 / 100]);
  return acked == n + 200 ? 0 : 1;
}
