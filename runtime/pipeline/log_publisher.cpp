#include "runtime/pipeline/log_publisher.hpp"

#include "runtime/core/value.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/task/task.hpp"

#include <condition_variable>
#include <deque>
#include <iostream>
#include <mutex>
#include <spdlog/sinks/base_sink.h>
#include <thread>

namespace sy::pipeline {

namespace {

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
  std::shared_ptr<broker::connection> conn;
  std::string node;

  std::mutex queue_mutex;
  std::condition_variable wake;
  std::deque<record> queue;
  std::size_t dropped = 0;
  bool stopping = false;
  std::thread worker;

  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (publishing) return;
    auto level = spdlog::level::to_string_view(msg.level);
    std::string_view logger{msg.logger_name.data(), msg.logger_name.size()};
    auto identity = identity_of_logger(logger);
    value json = {{"time", std::chrono::duration<double>(msg.time.time_since_epoch()).count()},
                  {"level", std::string_view{level.data(), level.size()}},
                  {"logger", logger},
                  {"node", node},
                  {"identity", identity},
                  {"message", std::string_view{msg.payload.data(), msg.payload.size()}}};
    record r{log_subject({level.data(), level.size()}, identity), json.dump()};
    std::lock_guard<std::mutex> guard{queue_mutex};
    if (queue.size() >= capacity) {
      ++dropped;
      return;
    }
    queue.push_back(std::move(r));
    wake.notify_one();
  }

  void flush_() override {}

  void run() {
    publishing = true;
    std::unique_lock<std::mutex> lk{queue_mutex};
    for (;;) {
      wake.wait(lk, [this] { return stopping || !queue.empty(); });
      if (queue.empty() && stopping) return;
      auto batch = std::move(queue);
      queue.clear();
      auto lost = std::exchange(dropped, 0);
      lk.unlock();
      if (lost > 0)
        std::cerr << "switchyard: " << lost
                  << " log record(s) not published to SY_LOGS (queue full)\n";
      for (const auto& r : batch)
        (void)conn->publish(r.subject, r.data);
      lk.lock();
    }
  }
};

log_publisher::log_publisher(std::shared_ptr<broker::connection> conn, std::string node)
    : impl_(std::make_shared<impl>()) {
  impl_->conn = std::move(conn);
  impl_->node = std::move(node);
  impl_->worker = std::thread([p = impl_.get()] { p->run(); });
}

log_publisher::~log_publisher() {
  {
    std::lock_guard<std::mutex> guard{impl_->queue_mutex};
    impl_->stopping = true;
    impl_->wake.notify_one();
  }
  impl_->worker.join();
  (void)impl_->conn->flush(std::chrono::seconds{2});
}

spdlog::sink_ptr log_publisher::sink() const {
  return impl_;
}

} // namespace sy::pipeline
