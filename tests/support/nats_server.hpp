#pragma once

#include "runtime/broker/embedded_server.hpp"
#include "runtime/core/expected.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>

namespace sy::test {

/// A real `nats-server -js` for integration tests: a free loopback port
/// (chosen by the server itself, so parallel tests do not race for ports)
/// and a fresh temporary store directory (mkdtemp). Ready to accept
/// connections when the constructor returns. `stop` and `restart` keep the
/// port and the store, for broker-restart tests. The destructor kills the
/// server and removes the directory.
///
/// A test cannot run without its server: if it does not start, the
/// constructor prints why and exits the test binary with status 1.
/// Not thread-safe.
class nats_server {
public:
  nats_server();
  ~nats_server();
  nats_server(const nats_server&) = delete;
  nats_server& operator=(const nats_server&) = delete;

  /// `nats://127.0.0.1:<port>`; stays the same across `restart`.
  std::string url() const;
  std::uint16_t port() const;
  const std::string& data_dir() const { return dir_; }

  /// Process id of the server, -1 when stopped (e.g. to SIGSTOP it and
  /// simulate a hung server).
  pid_t pid() const;

  /// Stops the server (SIGTERM, SIGKILL after 5 s).
  void stop();
  /// Starts it again on the same port and store.
  expected<void> restart();
  bool is_running();

private:
  std::string dir_;
  std::optional<broker::embedded_server> server_;
};

} // namespace sy::test
