#pragma once

// Internal to runtime/broker: the machinery behind
// `connection::js_publish_async`. Not a public header.

#include "runtime/broker/nats_fwd.hpp"
#include "runtime/broker/outgoing_message.hpp"
#include "runtime/broker/subscription.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>

namespace sy::broker {

class connection;

/// Publishes into JetStream with one reply subject per message,
/// `<inbox>.<token>`, all caught by one wildcard subscription; a map of
/// pending handlers keyed by token; and a sweeper thread that fails the
/// handlers whose ack did not come within the ack timeout. Tokens grow
/// monotonically and the timeout is fixed, so the oldest token always has the
/// earliest deadline and the sweep only looks at the front of the map.
///
/// Survives reconnects: nats.c replays the wildcard subscription, acks that
/// arrive in time complete normally, lost ones time out.
///
/// Thread-safe. Handlers run on the subscription thread (acks) or the
/// sweeper thread (timeouts, local failures), never under a lock. The state
/// shared with those threads is reference-counted, so the publisher may be
/// destroyed from inside a handler.
class js_publisher {
public:
  /// Subscribes the reply inbox on `conn` and starts the sweeper.
  static expected<std::unique_ptr<js_publisher>> create(connection& conn,
                                                        std::chrono::milliseconds ack_timeout);
  /// Calls `shutdown`.
  ~js_publisher();

  /// See `connection::js_publish_async`. `conn` is the publishing connection.
  void publish(connection& conn, const outgoing_message& msg, pub_ack_handler done);
  std::size_t pending() const;

  /// Stops the subscription and the sweeper; fails every pending handler with
  /// `errc::unavailable`. Idempotent.
  void shutdown();

  struct core;

private:
  js_publisher(std::shared_ptr<core> c, subscription sub);

  std::shared_ptr<core> core_;
  subscription sub_;
};

/// `msg.headers` with the JetStream ones `msg` asks for (`Nats-Msg-Id`,
/// `Nats-Expected-Last-Subject-Sequence`), which replace any of the same name.
header_list jetstream_headers(const outgoing_message& msg);

/// Reads a pub ack of the form nats-server sends for a stored message,
/// `{"stream":"S", "seq":N}` with `,"duplicate": true` when it was one
/// (spaces as any version puts them), without a JSON parser: `parse_pub_ack`
/// takes this path for nearly every reply. Anything else (an API error, a
/// domain) is left to the parser: nullopt.
std::optional<pub_ack> read_plain_pub_ack(std::string_view text);

/// Parses a JetStream publish reply (a pub ack JSON, an API error or a 503
/// no-responders status) for a message published to `subject`.
expected<pub_ack> parse_pub_ack(const message& reply, std::string_view subject);

} // namespace sy::broker
