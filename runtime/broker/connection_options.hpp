#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace sy::broker {

/// How `connection::connect` reaches NATS and behaves once connected.
/// Callbacks run on nats.c's callback thread: they must return quickly and
/// must not call blocking connection methods (`request`, `flush`, admin calls).
struct connection_options {
  /// Server URLs. Several URLs are members of one cluster: the connection
  /// picks one and fails over to the others.
  std::vector<std::string> urls{"nats://127.0.0.1:4222"};
  /// Client name shown by the server's monitoring (`connz`).
  std::string name = "switchyard";
  /// Bound on each TCP connect plus handshake.
  std::chrono::milliseconds connect_timeout{2000};
  /// Write every publish and ack to the socket at once, or with the rest of
  /// an open `write_batch` when it ends, instead of batching it for ~1 ms
  /// (nats.c's flusher). Keep it on: the hot path is latency-bound.
  bool send_asap = true;
  /// If true, `connect` succeeds even when no server is reachable and keeps
  /// trying in the background; if false (default) the caller gets a clear
  /// `errc::unavailable` error at once.
  bool retry_on_failed_connect = false;
  /// Reconnect attempts after a lost connection; -1 = forever.
  int max_reconnect = -1;
  /// First delay between rounds of reconnect attempts; it doubles per round.
  std::chrono::milliseconds reconnect_wait{100};
  /// Upper bound of the doubling delay.
  std::chrono::milliseconds max_reconnect_wait{2000};
  /// Random extra delay, up to this, so that many clients do not reconnect in step.
  std::chrono::milliseconds reconnect_jitter{100};
  /// Interval of client PINGs that detect a dead or cut-off server: two
  /// unanswered ones close the connection and reconnecting begins, so a
  /// silent server is noticed after 2–3 intervals (nats.c's default: 2 min).
  std::chrono::milliseconds ping_interval{2000};
  /// Bytes of publishes buffered while reconnecting; beyond it publishes fail.
  int reconnect_buffer_bytes = 8 * 1024 * 1024;
  /// Timeout of JetStream management calls (stream, consumer, KV admin).
  std::chrono::milliseconds api_timeout{5000};
  /// How long `js_publish_async` waits for the stream's ack before it reports
  /// `errc::unavailable`.
  std::chrono::milliseconds publish_ack_timeout{5000};

  /// The connection to `url` was lost; nats.c reconnects on its own.
  std::function<void(const std::string& url)> on_disconnected;
  /// The connection is back, to `url`.
  std::function<void(const std::string& url)> on_reconnected;
  /// The connection is closed for good (closed by us or reconnects exhausted).
  std::function<void()> on_closed;
  /// An asynchronous error, e.g. a slow consumer or a permission violation.
  std::function<void(const std::string& what)> on_error;
};

} // namespace sy::broker
