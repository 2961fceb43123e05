#pragma once

#include "runtime/broker/message.hpp"
#include "runtime/core/expected.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace sy::broker {

class connection;

/// A status the server (or the puller itself, code 0) reports about pull
/// requests: 409 "Exceeded MaxWaiting", 409 "Consumer Deleted", 503 no
/// responders, a reset after a reconnect or missing heartbeats. For logging;
/// the puller already acted on it.
struct pull_status {
  int code = 0;
  std::string description;
};

/// How a `pull_consumer` pulls.
struct pull_options {
  /// Stream and durable consumer (created beforehand by `ensure_consumer`).
  std::string stream;
  std::string consumer;
  /// Most messages the application holds (delivered, not yet released) plus
  /// credit still requested from the server. Never exceeded. At most 16
  /// batches: each request costs the server work while it waits.
  int window = 256;
  /// Most messages asked for by one NEXT request.
  int batch = 64;
  /// Lifetime of one NEXT request at the server. Must be positive.
  std::chrono::milliseconds expires{30000};
  /// The server sends a heartbeat when a waiting request stays idle this
  /// long; two missed intervals mean the requests are gone (server restart)
  /// and the credit is reset. At most half of `expires`; 0 disables.
  std::chrono::milliseconds idle_heartbeat{5000};
  /// Pause before asking again after the server rejected a request.
  std::chrono::milliseconds retry_wait{1000};
  /// `stop` waits until every requested message has arrived, or until no
  /// message came for this long, before it unsubscribes (see `stop`).
  std::chrono::milliseconds stop_quiet_period{100};
  /// Start paused: nothing is requested until `resume`. Lets the caller
  /// store the returned handle before `on_message` can run and use it.
  bool start_paused = false;
  /// Receives each message, one at a time, on a nats.c thread. The
  /// application owns the message: it acks, naks or terms it (now or later,
  /// on any thread) and then calls `release(1)`. Must not throw or block long.
  std::function<void(message)> on_message;
  /// The puller releases each message itself once `on_message` returned:
  /// for handlers that are done with a message when they return.
  bool release_on_return = false;
  /// Optional; receives statuses on whichever thread noticed them (nats.c's,
  /// the puller's watchdog, or one calling `release` / `resume`), never
  /// under the puller's lock. Must not call `stop`.
  std::function<void(const pull_status&)> on_status;
};

/// Counters for tests and metrics.
struct pull_stats {
  int held = 0;        ///< delivered and not released
  int outstanding = 0; ///< requested from the server, not yet delivered
  std::uint64_t delivered = 0;
  std::uint64_t requests = 0;
  std::uint64_t overflow_naks = 0; ///< deliveries beyond the window, nak'ed at once
  std::uint64_t credit_resets = 0; ///< after reconnects or missed heartbeats
};

/// Pulls a durable JetStream consumer with asynchronous NEXT requests
/// (`{"batch","expires","idle_heartbeat"}` to `$JS.API.CONSUMER.MSG.NEXT.
/// <stream>.<consumer>`, replies on one inbox subscription). Never uses
/// nats.c's Fetch (heap overflow in 3.4.1).
///
/// Credit: `held + outstanding <= window`. A request for up to `batch`
/// messages is sent whenever the free credit reaches half a batch, or at
/// once when nothing is outstanding, so a request always waits at the server
/// while credit allows: an idle puller delivers a new message within a round
/// trip. 408/409 statuses return their `Nats-Pending-Messages` to the
/// credit; a rejected request returns its whole batch and pauses requests for
/// `retry_wait`. After a reconnect or two missed heartbeats the credit is
/// reset on a fresh inbox; the old inbox is drained, and any message it still
/// brings is delivered if the window has room, else nak'ed at once.
///
/// Thread-safe. `release`, `pause`, `resume` may be called from any thread,
/// also from `on_message`. `stop` and the destructor must not be called from
/// `on_message` or `on_status`.
class pull_consumer {
public:
  /// Checks that the consumer exists (`errc::not_found` otherwise) and starts
  /// pulling. Blocking (one API round trip).
  static expected<std::unique_ptr<pull_consumer>> start(std::shared_ptr<connection> conn,
                                                        pull_options opts);
  /// Calls `stop` with a 5 s bound if it was not called.
  ~pull_consumer();
  pull_consumer(const pull_consumer&) = delete;
  pull_consumer& operator=(const pull_consumer&) = delete;

  /// The application finished with `n` held messages (acked, nak'ed,
  /// termed): their credit may be requested again.
  void release(int n = 1);

  /// Back-pressure: send no new NEXT requests (outstanding ones may still
  /// deliver up to the window). `resume` starts requesting again.
  void pause();
  void resume();

  /// Graceful shutdown, in this order:
  /// 1. no new requests;
  /// 2. wait until the outstanding credit is delivered, or nothing came for
  ///    `stop_quiet_period` (the server has nothing to send);
  /// 3. drain the inbox: the unsubscribe is confirmed by a round trip, and
  ///    every message that arrived before is still handed to `on_message`
  ///    (the application acks or naks it as usual);
  /// 4. flush the connection, so the acks and naks sent so far reached the
  ///    server.
  /// When it returns `on_message` is never called again and every delivered
  /// message was handed to the application; messages it still holds remain
  /// its to ack or nak. One race remains, inside the server (2.9): a message
  /// that becomes deliverable in the instant the unsubscribe is processed
  /// after a quiet period is dropped and redelivered after `ack_wait`
  /// (at-least-once holds). `errc::unavailable` if it all took longer than
  /// `timeout`. Idempotent.
  expected<void> stop(std::chrono::milliseconds timeout);

  pull_stats stats() const;

  struct impl;

private:
  explicit pull_consumer(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace sy::broker
