#pragma once

// Internal to runtime/broker: what a subscription shares with nats.c's
// delivery thread. Not a public header.

#include "runtime/broker/subscription.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace sy::broker {

/// nats.c's closure is a heap `shared_ptr<state>` that the completion
/// callback deletes: nats.c calls that callback last, on the delivery thread,
/// after the handler returned for the last time.
struct subscription::state {
  std::weak_ptr<connection> conn;
  message_handler handler;
  std::atomic<std::thread::id> delivery_thread{};

  bool on_delivery_thread() const { return delivery_thread.load() == std::this_thread::get_id(); }
  bool is_complete() const;
  void wait_complete();

  /// nats.c callbacks; `closure` is a `shared_ptr<state>*`.
  static void on_message(natsConnection* nc, natsSubscription* sub, natsMsg* msg, void* closure);
  static void on_complete(void* closure);

private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool completed_ = false;
};

} // namespace sy::broker
