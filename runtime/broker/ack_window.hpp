#pragma once

#include "runtime/broker/outgoing_message.hpp"
#include "runtime/core/expected.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>

namespace sy::broker {

/// Bounds the asynchronous JetStream publishes in flight: `start` waits until
/// fewer than `limit` are unconfirmed and returns the handler to give the
/// publish; the first failure is remembered. Thread-safe; the destructor
/// waits (up to 30 s) for what is still in flight, since the handlers refer
/// to it.
class ack_window {
public:
  explicit ack_window(int limit) : limit_(limit) {}

  pub_ack_handler start() {
    std::unique_lock<std::mutex> lock{mutex_};
    changed_.wait(lock, [this] { return outstanding_ < limit_; });
    ++outstanding_;
    return [this](expected<pub_ack> ack) {
      std::lock_guard<std::mutex> guard{mutex_};
      if (!ack && !first_error_) first_error_ = ack.error();
      --outstanding_;
      changed_.notify_all();
    };
  }

  /// Waits until every publish is confirmed (or `timeout` passed).
  expected<void> finish(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock{mutex_};
    if (!changed_.wait_for(lock, timeout, [this] { return outstanding_ == 0; }))
      return make_error(errc::unavailable, "publishes not confirmed in time");
    if (first_error_) return *first_error_;
    return {};
  }

  std::optional<error> failure() {
    std::lock_guard<std::mutex> guard{mutex_};
    return first_error_;
  }

  ~ack_window() { (void)finish(std::chrono::seconds{30}); }

private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int limit_;
  int outstanding_ = 0;
  std::optional<error> first_error_;
};

} // namespace sy::broker
