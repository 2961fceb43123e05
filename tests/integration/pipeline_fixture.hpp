#pragma once

#include "runtime/broker/consumer_spec.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "runtime/broker/pull_consumer.hpp"
#include "runtime/broker/stream_spec.hpp"
#include "runtime/pipeline/analysis_events.hpp"
#include "runtime/pipeline/keepers.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/pipeline/producer.hpp"
#include "runtime/task/codec.hpp"
#include "tests/support/nats_server.hpp"
#include "tests/support/node_process.hpp"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

namespace sy::test {

/// A broker, a connection, a producer, and every analysis event, in the
/// order they were stored. The events list each routed task of the analysis
/// with its receiver, parent and final status: what a user sees. They are
/// read from the SY_EVENTS stream, so a broker restart loses none.
struct pipeline_fixture {
  nats_server server;
  std::shared_ptr<broker::connection> conn;
  std::optional<pipeline::producer> producer;

  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, value> events; // root → event
  std::vector<std::string> event_order;
  /// Declared last: destroyed (stopped) first, while what it writes to lives.
  std::unique_ptr<broker::pull_consumer> events_feed;

  pipeline_fixture() {
    broker::connection_options opts;
    opts.urls = {server.url()};
    conn = *broker::connection::connect(opts);
    if (auto r = pipeline::ensure_layout(*conn, {}); !r) CAF_FAIL("layout: " << r.error().message);
    producer.emplace(*pipeline::producer::open(conn));
    auto feed =
        pipeline::follow_analysis_events(conn, "test-events", [this](const broker::message& m) {
          auto v = value::parse(m.data(), nullptr, false);
          std::lock_guard<std::mutex> guard{mutex};
          auto root = v.value("root_uid", "");
          if (events.emplace(root, v).second) event_order.push_back(root);
          changed.notify_all();
        });
    if (!feed) CAF_FAIL("events consumer: " << feed.error().message);
    events_feed = std::move(*feed);
  }

  ~pipeline_fixture() {
    if (events_feed) (void)events_feed->stop(std::chrono::seconds{5});
  }

  std::string send(value headers, priority p = priority::normal) {
    auto uid = producer->send(make_task(std::move(headers), value::object(), p));
    if (!uid) CAF_FAIL("send: " << uid.error().message);
    return *uid;
  }

  /// Waits until the analysis of `root` was announced.
  bool wait_event(const std::string& root, int seconds = 30) {
    std::unique_lock<std::mutex> lock{mutex};
    return changed.wait_for(lock, std::chrono::seconds{seconds},
                            [&] { return events.count(root) > 0; });
  }

  /// Forgets the announcement of `root`, so that the next one can be awaited.
  void forget_event(const std::string& root) {
    std::lock_guard<std::mutex> guard{mutex};
    events.erase(root);
  }

  /// Waits for every root; reports how many were announced.
  std::size_t wait_all(const std::vector<std::string>& roots, int seconds) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{seconds};
    std::unique_lock<std::mutex> lock{mutex};
    auto count = [&] {
      std::size_t n = 0;
      for (const auto& r : roots)
        n += events.count(r);
      return n;
    };
    changed.wait_until(lock, deadline, [&] { return count() == roots.size(); });
    return count();
  }

  /// The routed tasks of `root`'s event: receiver → status, one entry each.
  std::multiset<std::string> receivers(const std::string& root, const char* status) {
    std::lock_guard<std::mutex> guard{mutex};
    std::multiset<std::string> out;
    auto i = events.find(root);
    if (i == events.end()) return out;
    for (const auto& t : i->second.value("tasks", value::array()))
      if (t.value("status", "") == status) out.insert(t.value("receiver", ""));
    return out;
  }

  /// The queue consumers of `identity` (one per priority), their counters
  /// summed; nothing when one cannot be read.
  std::optional<broker::consumer_state> queue_state(const std::string& identity) {
    broker::consumer_state sum;
    for (auto p : pipeline::priorities) {
      auto c = broker::consumer_info(*conn, pipeline::queues_stream,
                                     pipeline::queue_durable(identity, p));
      if (!c) return std::nullopt;
      sum.num_pending += c->num_pending;
      sum.num_ack_pending += c->num_ack_pending;
      sum.num_redelivered += c->num_redelivered;
    }
    return sum;
  }

  /// The tasks `stream` (SY_UNROUTED or SY_QUEUES) holds, its keeper not
  /// counted; ~0 when it cannot be read.
  std::uint64_t stored(const char* stream) {
    auto n = pipeline::stored_tasks(*conn, stream);
    return n ? *n : ~std::uint64_t{0};
  }

  /// Waits until `identity`'s queue holds no message and none is awaiting
  /// an ack. The stream's message count is the truth (work-queue retention
  /// removes acked messages); the consumer's pending count can be off with
  /// interior deletes.
  bool wait_drained(const std::string& identity, int seconds) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds{seconds};
    for (;;) {
      auto queue = queue_state(identity);
      if (stored(pipeline::queues_stream) == 0 && queue && queue->num_ack_pending == 0) return true;
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
  }

  /// What the broker holds, for the log of a failed test: stream and
  /// consumer counters and the task records left, by status.
  std::string dump_state() {
    std::ostringstream out;
    for (const auto* stream : {pipeline::unrouted_stream, pipeline::queues_stream})
      out << stream << ": " << stored(stream) << " tasks\n";
    auto counters = [&](const std::string& name, const broker::consumer_state& c) {
      out << name << ": pending " << c.num_pending << ", ack pending " << c.num_ack_pending
          << ", redelivered " << c.num_redelivered << "\n";
    };
    for (auto p : pipeline::priorities)
      if (auto c =
              broker::consumer_info(*conn, pipeline::unrouted_stream, pipeline::router_durable(p)))
        counters(pipeline::router_durable(p), *c);
    if (auto c = queue_state("work")) counters("queue work", *c);
    if (auto tasks = broker::kv_bucket::open(conn, pipeline::tasks_bucket)) {
      std::map<std::string, int> by_status;
      if (auto entries = tasks->entries(">")) {
        for (const auto& e : *entries)
          if (auto t = decode_task(e.value))
            by_status[std::string{to_string(t->status)} +
                      (t->receiver.empty() ? " unrouted" : "")]++;
      }
      for (const auto& [status, n] : by_status)
        out << "records " << status << ": " << n << "\n";
    }
    return out.str();
  }

  /// A node config fragment for one synthetic consumer.
  static std::string consumer(const std::string& identity, const std::string& filters,
                              const std::string& config = "{}", int concurrency = 2) {
    return "[[consumer]]\nidentity = \"" + identity +
           "\"\nplugin = \"sy.consumers.synthetic\"\nfilters = " + filters +
           "\nconcurrency = " + std::to_string(concurrency) + "\nconfig = " + config + "\n";
  }
};

} // namespace sy::test
