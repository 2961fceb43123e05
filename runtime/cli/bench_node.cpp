#include "runtime/cli/bench_node.hpp"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace sy::cli {

using clock_type = std::chrono::steady_clock;

node_child::node_child(std::string config_path, std::string log_path)
    : config_path_(std::move(config_path)), log_path_(std::move(log_path)) {}

node_child::~node_child() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

expected<void> node_child::start() {
  char exe[4096];
  auto n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return make_error(errc::unavailable, "cannot read /proc/self/exe");
  exe[n] = '\0';
  pid_ = fork();
  if (pid_ < 0) return make_error(errc::unavailable, "fork failed");
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM); // no node left behind if the bench dies
    std::freopen(log_path_.c_str(), "a", stdout);
    std::freopen(log_path_.c_str(), "a", stderr);
    execl(exe, exe, "node", "--config", config_path_.c_str(), static_cast<char*>(nullptr));
    std::perror("exec switchyard");
    _exit(127);
  }
  return {};
}

std::string node_child::log_text() const {
  std::ifstream in{log_path_};
  return std::string{std::istreambuf_iterator<char>{in}, {}};
}

expected<void> node_child::wait_running(std::chrono::seconds limit) {
  auto deadline = clock_type::now() + limit;
  while (clock_type::now() < deadline) {
    if (log_text().find("running") != std::string::npos) return {};
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return make_error(errc::unavailable, "the node exited before running:\n" + log_text());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return make_error(errc::unavailable, "the node was not running after " +
                                           std::to_string(limit.count()) + " s:\n" + log_text());
}

int node_child::stop(std::chrono::seconds grace) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto deadline = clock_type::now() + grace;
  while (clock_type::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return -1;
}

temp_dir::temp_dir(const std::string& prefix) {
  auto pattern = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (mkdtemp(pattern.data())) path = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  if (!path.empty()) std::filesystem::remove_all(path, ec);
}

double percentile_ms(const std::vector<double>& sorted_ms, double p) {
  if (sorted_ms.empty()) return 0;
  // Nearest rank: the smallest value with at least p of the samples at or below it.
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted_ms.size())));
  return sorted_ms[std::clamp<std::size_t>(rank, 1, sorted_ms.size()) - 1];
}

std::string cpu_model() {
  std::ifstream in{"/proc/cpuinfo"};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    auto colon = line.find(':');
    if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
  }
  return "unknown";
}

} // namespace sy::cli
