#pragma once

#include "runtime/broker/connection_options.hpp"
#include "runtime/broker/message.hpp"
#include "runtime/broker/nats_fwd.hpp"
#include "runtime/broker/outgoing_message.hpp"
#include "runtime/broker/subscription.hpp"
#include "runtime/core/expected.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace sy::broker {

class js_publisher;
struct connection_events;

/// One NATS connection (nats.c `natsConnection` plus a JetStream context).
/// It reconnects on its own, forever by default, and replays its
/// subscriptions; publishes made while disconnected are buffered.
///
/// Shared ownership: subscriptions, messages, pull consumers and KV buckets
/// hold a `shared_ptr` to their connection, so the connection is torn down
/// after the last of them (teardown order: subscriptions, then the
/// connection). Destroying it flushes for up to 0.5 s, closes the socket and
/// joins its threads. It never calls `nats_Close` (process-wide, optional).
///
/// Thread-safe: every method may be called from any thread. Non-blocking
/// methods (`publish`, `js_publish_async`, `subscribe`) may be called from
/// nats.c callbacks; blocking ones (`request`, `flush`, `js_publish`) must not.
class connection : public std::enable_shared_from_this<connection> {
public:
  /// Connects to one of `opts.urls`. Fails with `errc::unavailable` naming
  /// the URLs if none answers (unless `opts.retry_on_failed_connect`), with
  /// `errc::invalid_input` for a malformed URL.
  static expected<std::shared_ptr<connection>> connect(const connection_options& opts);

  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Core NATS publish, fire-and-forget (buffered while reconnecting). Inside
  /// a `write_batch` it is written when the batch ends; should the
  /// connection break before, it is lost without an error, as any publish
  /// in flight can be.
  expected<void> publish(std::string_view subject, std::string_view data,
                         const header_list& headers = {}, std::string_view reply = {});

  /// Sends a request and waits up to `timeout` for the reply. A timeout or
  /// no responder is `errc::unavailable`.
  expected<message> request(std::string_view subject, std::string_view data,
                            std::chrono::milliseconds timeout);

  /// Subscribes to `subject` (wildcards allowed); see `subscription`. The
  /// handler runs inside a `write_batch` held over while more messages are
  /// queued, so it must not block: what earlier handlers published waits
  /// for it (for at most 0.5 ms of handlers in a row otherwise).
  expected<subscription> subscribe(const std::string& subject, message_handler handler);

  /// Waits until the server has processed everything sent so far.
  expected<void> flush(std::chrono::milliseconds timeout);

  /// A new unique subject for replies, `_INBOX.<nuid>`.
  std::string new_inbox() const;
  /// URL of the server currently connected to; empty while disconnected.
  std::string connected_url() const;
  bool is_connected() const;

  /// Publishes into JetStream without waiting. `done` is called exactly once,
  /// always on a broker thread (never inside this call): with the stream's
  /// ack; `errc::conflict` for a failed expectation (wrong last sequence);
  /// `errc::unavailable` if no stream captures the subject, the connection is
  /// closed, or no ack came within `publish_ack_timeout`. A lost ack means
  /// "maybe stored": retry with the same `msg_id`. `done` must neither block
  /// nor throw.
  void js_publish_async(const outgoing_message& msg, pub_ack_handler done);

  /// Publishes into JetStream and waits for the ack (CLI, tools). Errors as
  /// for `js_publish_async`.
  expected<pub_ack> js_publish(const outgoing_message& msg, std::chrono::milliseconds timeout);

  /// Asynchronous publishes still waiting for their ack; for back-pressure.
  std::size_t pending_publishes() const;
  /// Bytes published and not yet written to the socket: held by an open
  /// `write_batch` (runtime/broker/write_batch.hpp), or, on a connection
  /// without `send_asap`, waiting for nats.c's flush. -1 once closed.
  int buffered_bytes() const;

  /// Registers `fn`, called on nats.c's callback thread after every
  /// reconnect (after nats.c replayed the subscriptions). `fn` must not
  /// (un)register listeners itself. Returns an id for removal.
  std::uint64_t add_reconnect_listener(std::function<void()> fn);
  /// Unregisters; when it returns, the listener is not running and will not run.
  void remove_reconnect_listener(std::uint64_t id);

  const connection_options& options() const noexcept { return opts_; }

  /// nats.c handles, owned by this object. For broker internals.
  natsConnection* native_handle() const noexcept { return nc_; }
  jsCtx* js_handle() const noexcept { return js_; }

private:
  friend class js_publisher;

  explicit connection(connection_options opts);

  /// `subscribe` without the subscription holding this connection alive:
  /// for subscriptions the connection itself owns (no reference cycle).
  expected<subscription> subscribe_owned(const std::string& subject, message_handler handler);
  expected<subscription> make_subscription(const std::string& subject, message_handler handler,
                                           bool keep_alive);

  connection_options opts_;
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  /// Outlives this object when nats.c still has callbacks queued; freed by
  /// the closed callback, the last one nats.c makes for a connection.
  connection_events* events_ = nullptr;
  std::unique_ptr<js_publisher> publisher_;
};

} // namespace sy::broker
