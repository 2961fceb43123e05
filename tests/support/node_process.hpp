#pragma once

#include "runtime/cli/child_process.hpp"

#include <string>
#include <sys/types.h>
#include <vector>

namespace sy::test {

/// A `switchyard node` child process for integration tests, started with a
/// TOML configuration written to a temporary directory (its log goes to
/// `<dir>/node.log`). The destructor kills it and removes the directory.
/// Not thread-safe.
class node_process {
public:
  /// Writes `toml` to a file and starts the node. `broker_url` is added as
  /// `[broker] urls`, followed by the `broker_keys` lines; the node's data
  /// dir is inside the temp directory.
  node_process(const std::string& toml, const std::string& broker_url,
               const std::string& broker_keys = "");
  /// The same with several broker URLs (a cluster).
  node_process(const std::string& toml, const std::vector<std::string>& broker_urls,
               const std::string& broker_keys = "");
  ~node_process();
  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  /// Sends SIGTERM and waits up to `seconds`; returns the exit status, or -1
  /// if it had to be killed.
  int stop(int seconds = 30);
  /// Sends `sig` without waiting.
  void signal(int sig);
  /// SIGKILL, as a crash.
  void kill9();
  /// Starts the same configuration again after `stop` or `kill9`.
  void restart();
  bool running();
  /// Blocks until the log contains `text` or `seconds` passed.
  bool wait_for_log(const std::string& text, int seconds = 20) const;
  std::string log_text() const;
  pid_t pid() const { return child_.pid(); }

private:
  cli::temp_dir dir_{"sy-node-"};
  cli::child_process child_;
};

/// Runs `switchyard ARGS...` (the CLI under test) and returns its exit code,
/// with stdout in `out` when given.
int run_cli(const std::string& args, std::string* out = nullptr);

/// Runs a shell command; returns its exit code (-1 if it did not exit) and
/// its standard output in `out`.
int run_command(const std::string& cmd, std::string* out = nullptr);

/// Runs `switchyard ARGS...` like `run_cli`, sends it SIGINT after `seconds`
/// (SIGKILL 5 s later if it is still running) and returns its exit code: for
/// commands that run until interrupted (`logs --follow`).
int run_cli_interrupted(const std::string& args, int seconds, std::string* out = nullptr);

} // namespace sy::test
