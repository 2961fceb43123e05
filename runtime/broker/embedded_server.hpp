#pragma once

#include "runtime/core/expected.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace sy::broker {

/// How to run a local `nats-server -js`.
struct embedded_server_options {
  /// Directory for the JetStream store (`<data_dir>/jetstream`), the log and
  /// the ports file. Created if missing. Required.
  std::string data_dir;
  /// Client port; 0 = a free port chosen by the server (no race with other
  /// processes), kept across `restart`.
  std::uint16_t port = 0;
  /// Address to listen on; loopback keeps the server private to this machine.
  std::string host = "127.0.0.1";
  /// Further nats-server arguments, e.g. {"--server_name", "local"}.
  std::vector<std::string> extra_args;
  /// Server output (appended); empty = `<data_dir>/nats-server.log`.
  std::string log_file;
  /// The nats-server binary; empty = search PATH, then /usr/sbin and /usr/local/sbin.
  std::string binary;
  /// GOMAXPROCS of the server: how many threads run its Go code at once.
  /// 0: Go's default, one per core.
  int threads = 0;
  /// GOGC of the server: how far, in percent of the live data, its heap
  /// grows before Go collects garbage. 0: as this process's environment has
  /// it (Go's default is 100).
  int gc_percent = 0;
  /// CPUs the server may run on (0 to CPU_SETSIZE - 1); empty: those of the
  /// thread starting it. One it may not use (outside this process's cpuset)
  /// fails the start.
  std::vector<int> cpus;
  /// Bound for the server to accept connections.
  std::chrono::milliseconds start_timeout{10000};
  /// Bound for a graceful exit after SIGTERM before SIGKILL.
  std::chrono::milliseconds stop_grace{5000};
  /// Linux: the server gets SIGTERM if the *thread* that started it exits (so
  /// a crashed test or node leaves no server behind). Start it from the main
  /// thread, or turn this off.
  bool stop_with_parent = true;
};

/// Finds the nats-server binary; `errc::not_found` with an install hint.
expected<std::string> find_nats_server();

/// Threads for a nats-server that shares this machine with a node: half the
/// cores, at least one (docs/BENCHMARKS.md "The embedded server's threads").
int shared_machine_server_threads();

/// A `nats-server -js -a HOST -p PORT -sd DATA_DIR/jetstream` child process.
/// It runs in its own process group, so a terminal's Ctrl-C reaches only the
/// parent, which then stops the server after its own graceful shutdown.
///
/// Move-only; not thread-safe. The destructor stops the server.
class embedded_server {
public:
  /// Starts the server and waits until it accepts TCP connections. Fails with
  /// `errc::not_found` if nats-server is not installed, `errc::unavailable`
  /// (with the tail of the server log) if it exits or does not come up within
  /// `start_timeout`.
  static expected<embedded_server> start(embedded_server_options opts);

  embedded_server(embedded_server&& other) noexcept;
  embedded_server& operator=(embedded_server&& other) noexcept;
  embedded_server(const embedded_server&) = delete;
  embedded_server& operator=(const embedded_server&) = delete;
  ~embedded_server();

  /// `nats://HOST:PORT`.
  std::string url() const;
  std::uint16_t port() const noexcept { return port_; }
  /// Process id, -1 when stopped.
  pid_t pid() const noexcept { return pid_; }
  /// False once the process exited (reaps it).
  bool is_running();
  /// SIGTERM, wait up to `stop_grace`, then SIGKILL. Idempotent.
  void stop();
  /// Stops and starts again on the same port and store.
  expected<void> restart();

  const embedded_server_options& options() const noexcept { return opts_; }

private:
  explicit embedded_server(embedded_server_options opts) : opts_(std::move(opts)) {}
  expected<void> launch();

  embedded_server_options opts_;
  std::string binary_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

/// A TCP port on loopback that nobody listens on right now (bound and
/// released: another process could take it before it is used, which then
/// fails visibly). For ports nats-server cannot choose itself, such as a
/// cluster's route ports; its client port can be 0.
std::uint16_t free_loopback_port();

} // namespace sy::broker
