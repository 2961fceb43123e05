#pragma once

#include "runtime/core/expected.hpp"

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

/// What the benchmarks and simulations share: child processes (nodes,
/// nats-servers), a temporary directory, percentiles and the machine's name.
namespace sy::cli {

/// A child process whose output is appended to `log_path`. It dies with
/// its parent (PR_SET_PDEATHSIG); the destructor kills it if it still runs.
/// Can be started again after it stopped. Not thread-safe.
class child_process {
public:
  child_process(std::vector<std::string> argv, std::string log_path);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  expected<void> start();
  std::string log_text() const;
  /// Waits until the log contains `text` (counting only output written
  /// since the last start); fails if the process exits first.
  expected<void> wait_for(const std::string& text, std::chrono::seconds limit);
  /// A node's readiness: `wait_for("running")`.
  expected<void> wait_running(std::chrono::seconds limit) { return wait_for("running", limit); }
  /// `sig`, then SIGKILL after `grace`. Returns the exit status, -1 if killed.
  int stop(std::chrono::seconds grace, int sig = 15);
  /// SIGKILL and reap, as a crash.
  void kill();
  /// Sends `sig` (SIGSTOP, SIGCONT, ...) without waiting.
  void signal(int sig);
  bool running();
  pid_t pid() const { return pid_; }

private:
  std::vector<std::string> argv_;
  std::string log_path_;
  std::size_t log_start_ = 0;
  pid_t pid_ = -1;
};

/// The command line of `switchyard node --config FILE` with this same
/// executable.
std::vector<std::string> node_argv(const std::string& config_path);

/// A `switchyard node --config FILE` child.
child_process node_child(const std::string& config_path, const std::string& log_path);

/// A directory under /tmp, removed on every way out.
struct temp_dir {
  std::string path;
  /// Creates `/tmp/<prefix>XXXXXX`; `path` stays empty on failure.
  explicit temp_dir(const std::string& prefix);
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

/// The CPU model from /proc/cpuinfo, for the record of a run.
std::string cpu_model();

} // namespace sy::cli
