#include "runtime/cli/child_process.hpp"

#include <algorithm>
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

child_process::child_process(std::vector<std::string> argv, std::string log_path)
    : argv_(std::move(argv)), log_path_(std::move(log_path)) {}

child_process::~child_process() {
  kill();
}

expected<void> child_process::start() {
  if (pid_ > 0) return make_error(errc::internal, argv_[0] + " is already running");
  {
    std::ifstream in{log_path_, std::ios::ate};
    log_start_ = in ? static_cast<std::size_t>(in.tellg()) : 0;
  }
  pid_ = fork();
  if (pid_ < 0) return make_error(errc::unavailable, "fork failed");
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM); // nothing left behind if the parent dies
    std::freopen(log_path_.c_str(), "a", stdout);
    std::freopen(log_path_.c_str(), "a", stderr);
    std::vector<char*> args;
    for (auto& a : argv_)
      args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::perror(("exec " + argv_[0]).c_str());
    _exit(127);
  }
  return {};
}

std::string child_process::log_text() const {
  std::ifstream in{log_path_};
  return std::string{std::istreambuf_iterator<char>{in}, {}};
}

expected<void> child_process::wait_for(const std::string& text, std::chrono::seconds limit) {
  auto deadline = clock_type::now() + limit;
  while (clock_type::now() < deadline) {
    auto log = log_text();
    if (log.find(text, std::min(log_start_, log.size())) != std::string::npos) return {};
    if (!running())
      return make_error(errc::unavailable, argv_[0] + " exited before \"" + text + "\":\n" + log);
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return make_error(errc::unavailable, argv_[0] + " did not say \"" + text + "\" within " +
                                           std::to_string(limit.count()) + " s:\n" + log_text());
}

int child_process::stop(std::chrono::seconds grace, int sig) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGCONT); // a paused process cannot stop
  ::kill(pid_, sig);
  auto deadline = clock_type::now() + grace;
  while (clock_type::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  kill();
  return -1;
}

void child_process::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void child_process::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

bool child_process::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::vector<std::string> node_argv(const std::string& config_path) {
  char exe[4096];
  auto n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  exe[n > 0 ? n : 0] = '\0';
  return {exe, "node", "--config", config_path};
}

child_process node_child(const std::string& config_path, const std::string& log_path) {
  return child_process{node_argv(config_path), log_path};
}

temp_dir::temp_dir(const std::string& prefix) {
  auto pattern = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (mkdtemp(pattern.data())) path = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  if (!path.empty()) std::filesystem::remove_all(path, ec);
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
