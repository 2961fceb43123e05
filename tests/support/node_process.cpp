#include "tests/support/node_process.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace sy::test {

namespace {

std::string make_temp_dir() {
  std::string templ = (std::filesystem::temp_directory_path() / "sy-node-XXXXXX").string();
  if (!mkdtemp(templ.data())) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  return templ;
}

} // namespace

node_process::node_process(const std::string& toml, const std::string& broker_url,
                           const std::string& broker_keys)
    : node_process(toml, std::vector<std::string>{broker_url}, broker_keys) {}

node_process::node_process(const std::string& toml, const std::vector<std::string>& broker_urls,
                           const std::string& broker_keys)
    : dir_(make_temp_dir()), config_path_(dir_ + "/node.toml") {
  std::string urls;
  for (const auto& u : broker_urls)
    urls += (urls.empty() ? "\"" : ", \"") + u + "\"";
  std::ofstream out{config_path_};
  out << "[node]\ndata_dir = \"" << dir_ << "/data\"\nshutdown_grace = \"10s\"\n"
      << "heartbeat_interval = \"1s\"\n"
      << "[broker]\nurls = [" << urls << "]\n"
      << broker_keys << '\n'
      << toml << '\n';
  out.close();
  launch();
}

node_process::~node_process() {
  if (pid_ > 0) kill9();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void node_process::launch() {
  pid_ = fork();
  if (pid_ == 0) {
    // A test binary that aborts (CAF_FAIL, the watchdog) takes its nodes
    // along instead of leaving them running.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    auto log = dir_ + "/node.log";
    std::freopen(log.c_str(), "a", stdout);
    std::freopen(log.c_str(), "a", stderr);
    execl(SY_SWITCHYARD_BIN, SY_SWITCHYARD_BIN, "node", "--config", config_path_.c_str(),
          static_cast<char*>(nullptr));
    std::perror("exec switchyard");
    _exit(127);
  }
}

int node_process::stop(int seconds) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < seconds * 20; ++i) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  kill9();
  return -1;
}

void node_process::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

void node_process::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void node_process::restart() {
  if (pid_ > 0) stop();
  launch();
}

bool node_process::running() {
  if (pid_ <= 0) return false;
  if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string node_process::log_text() const {
  std::ifstream in{dir_ + "/node.log"};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool node_process::wait_for_log(const std::string& text, int seconds) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{seconds};
  while (std::chrono::steady_clock::now() < deadline) {
    if (log_text().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  return false;
}

int run_command(const std::string& cmd, std::string* out) {
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return -1;
  char buf[4096];
  std::string text;
  while (auto n = fread(buf, 1, sizeof(buf), pipe))
    text.append(buf, n);
  int status = pclose(pipe);
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int run_cli(const std::string& args, std::string* out) {
  return run_command(std::string{SY_SWITCHYARD_BIN} + " " + args, out);
}

int run_cli_interrupted(const std::string& args, int seconds, std::string* out) {
  // coreutils timeout: --preserve-status reports the command's own status.
  return run_command("timeout --preserve-status -k 5 -s INT " + std::to_string(seconds) + " " +
                         SY_SWITCHYARD_BIN + " " + args,
                     out);
}

} // namespace sy::test
