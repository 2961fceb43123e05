#pragma once

#include "runtime/broker/message.hpp"
#include "runtime/broker/nats_fwd.hpp"
#include "runtime/core/expected.hpp"

#include <chrono>
#include <functional>
#include <memory>

namespace sy::broker {

class connection;

/// Receives the messages of a subscription, one at a time, on the
/// subscription's own nats.c thread. It must not throw (an exception is
/// caught and reported through `connection_options::on_error`) and must not
/// block on other work of the same subscription.
using message_handler = std::function<void(message)>;

/// An asynchronous subscription created by `connection::subscribe`. RAII:
/// destroying it unsubscribes and waits until a running handler returns, so
/// everything the handler captured may be destroyed right after (unless the
/// subscription is destroyed from inside its own handler, which is allowed:
/// then nothing waits and the handler is freed when it returns).
///
/// A subscription keeps its connection alive. Move-only; not thread-safe.
class subscription {
public:
  subscription() noexcept = default;
  subscription(subscription&& other) noexcept;
  subscription& operator=(subscription&& other) noexcept;
  subscription(const subscription&) = delete;
  subscription& operator=(const subscription&) = delete;
  ~subscription();

  bool valid() const noexcept { return sub_ != nullptr; }

  /// Stops delivery at once: messages already received but not yet handed to
  /// the handler are dropped. Waits for a running handler. Idempotent.
  void unsubscribe();

  /// Graceful stop: the server stops sending (the unsubscribe is confirmed
  /// by a round trip), every message received before is still handed to the
  /// handler, then this returns. Fails with `errc::unavailable` if that took
  /// longer than `timeout` (remaining messages were dropped). Called from the
  /// subscription's own handler it only starts the drain.
  expected<void> drain(std::chrono::milliseconds timeout);

  /// Starts a drain and returns at once; the subscription completes in the
  /// background (see `is_complete`).
  void drain_async(std::chrono::milliseconds timeout);

  /// True once the handler will never be called again.
  bool is_complete() const;

  /// The nats.c handle, owned by this object. For broker internals.
  natsSubscription* native_handle() const noexcept { return sub_; }

  struct state;

private:
  friend class connection;
  subscription(natsSubscription* sub, std::shared_ptr<state> st,
               std::shared_ptr<connection> conn) noexcept;
  void wait_complete();
  void release();

  natsSubscription* sub_ = nullptr;
  std::shared_ptr<state> state_;
  std::shared_ptr<connection> conn_;
};

} // namespace sy::broker
