#pragma once

#include "runtime/core/expected.hpp"

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

/// What the end-to-end benchmarks share: a node child process, a temporary
/// directory, percentiles and the machine's name.
namespace sy::cli {

/// A `switchyard node --config FILE` child (this same executable); its
/// output goes to `log_path`. It dies with the benchmark (PR_SET_PDEATHSIG);
/// the destructor kills it if `stop` was not called. Not thread-safe.
class node_child {
public:
  node_child(std::string config_path, std::string log_path);
  ~node_child();
  node_child(const node_child&) = delete;
  node_child& operator=(const node_child&) = delete;

  expected<void> start();
  std::string log_text() const;
  /// Waits until the log shows "running"; fails if the node exits first.
  expected<void> wait_running(std::chrono::seconds limit);
  /// SIGTERM, then SIGKILL after `grace`. Returns the exit status, -1 if killed.
  int stop(std::chrono::seconds grace);
  pid_t pid() const { return pid_; }

private:
  std::string config_path_;
  std::string log_path_;
  pid_t pid_ = -1;
};

/// A directory under /tmp, removed on every way out.
struct temp_dir {
  std::string path;
  /// Creates `/tmp/<prefix>XXXXXX`; `path` stays empty on failure.
  explicit temp_dir(const std::string& prefix);
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

/// Nearest-rank percentile `p` (0..1) of ascending `sorted_ms`; 0 if empty.
double percentile_ms(const std::vector<double>& sorted_ms, double p);

/// The CPU model from /proc/cpuinfo, for the record of a run.
std::string cpu_model();

} // namespace sy::cli
