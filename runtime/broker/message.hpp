#pragma once

#include "runtime/broker/header_list.hpp"
#include "runtime/broker/nats_fwd.hpp"
#include "runtime/core/expected.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sy::broker {

class connection;

/// Where a JetStream message stands in its stream and consumer, parsed from
/// its ack subject `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>`.
struct js_metadata {
  std::string stream;
  std::string consumer;
  /// 1 on first delivery, incremented by every redelivery.
  std::uint64_t num_delivered = 0;
  std::uint64_t stream_seq = 0;
  std::uint64_t consumer_seq = 0;
  /// When the stream stored the message.
  std::chrono::system_clock::time_point timestamp;
  /// Messages left for the consumer after this one.
  std::uint64_t num_pending = 0;
};

/// Parses a JetStream ack subject (both the 9-token and the 12-token form
/// with domain and account). Returns nullopt if `reply` is not one.
std::optional<js_metadata> parse_ack_subject(std::string_view reply);

/// A received message. Owns the nats.c message and a reference to the
/// connection it arrived on, so it can be acked from any thread at any time
/// (holding a message keeps its connection alive).
///
/// Move-only. Not thread-safe: one thread at a time (header lookups parse
/// lazily inside nats.c). The acks are fire-and-forget publishes to
/// `reply()`; the server ignores every ack after the first.
class message {
public:
  message() noexcept = default;
  /// Adopts `msg` (destroyed with this object). For broker internals.
  message(natsMsg* msg, std::shared_ptr<connection> conn) noexcept;
  message(message&& other) noexcept;
  message& operator=(message&& other) noexcept;
  message(const message&) = delete;
  message& operator=(const message&) = delete;
  ~message();

  /// False for a default-constructed or moved-from message.
  bool valid() const noexcept { return msg_ != nullptr; }

  std::string_view subject() const;
  /// The payload; valid as long as this message lives.
  std::string_view data() const;
  /// The reply subject; empty if none. For JetStream messages the ack subject.
  std::string_view reply() const;
  /// First value of header `name`, or nullopt.
  std::optional<std::string> header(const char* name) const;
  /// All headers.
  header_list headers() const;
  /// The NATS status code of a status message (`Status` header: 100 idle
  /// heartbeat, 404, 408, 409, 503 no responders), 0 for a normal message.
  int status() const;
  /// Metadata of a JetStream message, nullopt for other messages.
  std::optional<js_metadata> metadata() const;

  /// Acknowledges: the stream may drop the message (work-queue retention).
  expected<void> ack();
  /// Negative ack: redeliver, after `delay` if it is positive.
  expected<void> nak(std::chrono::nanoseconds delay = std::chrono::nanoseconds{0});
  /// Work in progress: restarts the consumer's ack-wait timer.
  expected<void> in_progress();
  /// Terminates: never redeliver this message.
  expected<void> term();
  /// Acknowledges and waits until the server confirms the ack. Blocking: do
  /// not call it on a nats.c callback thread.
  expected<void> ack_sync(std::chrono::milliseconds timeout);

  /// The nats.c handle, owned by this object. For broker internals.
  natsMsg* native_handle() const noexcept { return msg_; }

private:
  expected<void> send_ack(std::string_view body);

  natsMsg* msg_ = nullptr;
  std::shared_ptr<connection> conn_;
};

} // namespace sy::broker
