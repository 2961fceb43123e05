#include "runtime/pipeline/log_publisher.hpp"

#include "runtime/broker/connection.hpp"
#include "runtime/core/value.hpp"
#include "runtime/log/log.hpp"
#include "runtime/pipeline/layout.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <iostream>
#include <mutex>
#include <spdlog/sinks/base_sink.h>
#include <thread>

namespace sy::pipeline {

namespace {

using namespace std::chrono_literals;

/// Set on the publishing thread: what it logs is not published again.
thread_local bool publishing = false;

struct record {
  std::string subject;
  std::string data;
};

} // namespace

std::string log_subject(std::string_view level, std::string_view identity) {
  return "sy.logs." + std::string{level} + "." +
         (identity.empty() ? std::string{"_node"} : identity_token(identity));
}

std::string_view identity_of_logger(std::string_view logger) {
  auto dot = logger.find('.');
  return dot == std::string_view::npos ? std::string_view{} : logger.substr(dot + 1);
}

struct log_publisher::impl : spdlog::sinks::base_sink<std::mutex> {
  log_publisher_options opts;
  std::shared_ptr<broker::connection> conn;

  std::mutex queue_mutex;
  std::condition_variable wake;
  std::deque<record> queue;
  /// Dropped since the last report on stderr.
  std::uint64_t unreported_drops = 0;
  bool stopping = false;
  std::thread worker;

  std::atomic<std::uint64_t> published{0};
  std::atomic<std::uint64_t> dropped{0};

  /// Runs on the thread that logs: no network, no waiting but for the queue lock.
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (publishing) return;
    auto level = log::level_name(msg.level);
    std::string_view logger{msg.logger_name.data(), msg.logger_name.size()};
    auto identity = identity_of_logger(logger);
    std::string text{msg.payload.data(), std::min(msg.payload.size(), opts.max_message_bytes)};
    if (text.size() < msg.payload.size()) text += " [truncated]";
    value json = {{"time", std::chrono::duration<double>(msg.time.time_since_epoch()).count()},
                  {"level", level},
                  {"logger", logger},
                  {"node", opts.node},
                  {"identity", identity},
                  {"message", std::move(text)}};
    // Invalid UTF-8 in a message is replaced rather than thrown about.
    record r{log_subject(level, identity),
             json.dump(-1, ' ', false, value::error_handler_t::replace)};
    std::lock_guard<std::mutex> guard{queue_mutex};
    if (queue.size() >= opts.capacity) {
      ++unreported_drops;
      dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue.push_back(std::move(r));
    if (queue.size() == 1) wake.notify_one();
  }

  void flush_() override {}

  /// Sends `batch` while connected; returns what is left when the
  /// connection went down.
  std::deque<record> send(std::deque<record> batch) {
    while (!batch.empty()) {
      if (!conn->is_connected()) return batch;
      if (conn->publish(batch.front().subject, batch.front().data)) {
        published.fetch_add(1, std::memory_order_relaxed);
      } else {
        dropped.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard<std::mutex> guard{queue_mutex};
        ++unreported_drops;
      }
      batch.pop_front();
    }
    return batch;
  }

  void run() {
    publishing = true;
    bool announced = false; // the current outage was reported
    std::unique_lock<std::mutex> lk{queue_mutex};
    while (!stopping) {
      wake.wait(lk, [this] { return stopping || !queue.empty(); });
      if (stopping) break;
      if (unreported_drops > 0 && !announced) {
        std::cerr << "switchyard: dropping log records: " << opts.capacity
                  << " are waiting to be published to SY_LOGS (broker unreachable or too slow); "
                     "the count follows when publishing resumes\n";
        announced = true;
      }
      if (!conn->is_connected()) { // wait for the reconnect, the queue fills meanwhile
        wake.wait_for(lk, 100ms, [this] { return stopping; });
        continue;
      }
      auto batch = std::move(queue);
      queue.clear();
      lk.unlock();
      auto rest = send(std::move(batch));
      lk.lock();
      if (!rest.empty()) { // disconnected meanwhile: keep the order
        queue.insert(queue.begin(), std::make_move_iterator(rest.begin()),
                     std::make_move_iterator(rest.end()));
        continue;
      }
      if (announced && unreported_drops > 0) {
        std::cerr << "switchyard: publishing log records to SY_LOGS again; " << unreported_drops
                  << " were dropped\n";
        unreported_drops = 0;
        announced = false;
      }
    }
    // Stopping: what is queued gets until the deadline.
    auto deadline = std::chrono::steady_clock::now() + opts.drain_timeout;
    while (!queue.empty() && std::chrono::steady_clock::now() < deadline) {
      auto batch = std::move(queue);
      queue.clear();
      lk.unlock();
      auto rest = send(std::move(batch));
      if (!rest.empty()) std::this_thread::sleep_for(50ms);
      lk.lock();
      queue.insert(queue.begin(), std::make_move_iterator(rest.begin()),
                   std::make_move_iterator(rest.end()));
    }
    unreported_drops += queue.size();
    dropped.fetch_add(queue.size(), std::memory_order_relaxed);
    queue.clear();
    if (unreported_drops > 0)
      std::cerr << "switchyard: " << unreported_drops
                << " log record(s) were not published to SY_LOGS\n";
    lk.unlock();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (conn->is_connected()) (void)conn->flush(std::max(left, 100ms));
  }
};

expected<std::unique_ptr<log_publisher>> log_publisher::start(log_publisher_options opts) {
  auto copts = opts.connection;
  copts.retry_on_failed_connect = true;
  copts.send_asap = false; // records go out in batches of a millisecond
  copts.on_disconnected = nullptr;
  copts.on_reconnected = nullptr;
  copts.on_closed = nullptr;
  copts.on_error = nullptr;
  auto conn = broker::connection::connect(copts);
  if (!conn) return conn.error();
  auto p = std::make_shared<impl>();
  p->opts = std::move(opts);
  p->conn = std::move(*conn);
  p->worker = std::thread([raw = p.get()] { raw->run(); });
  return std::unique_ptr<log_publisher>(new log_publisher(std::move(p)));
}

log_publisher::log_publisher(std::shared_ptr<impl> p) : impl_(std::move(p)) {}

log_publisher::~log_publisher() {
  {
    std::lock_guard<std::mutex> guard{impl_->queue_mutex};
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->worker.join();
  impl_->conn.reset(); // closes the connection; the sink may outlive us, unused
}

spdlog::sink_ptr log_publisher::sink() const {
  return impl_;
}

log_publisher::counters log_publisher::stats() const {
  return {impl_->published.load(), impl_->dropped.load()};
}

} // namespace sy::pipeline
