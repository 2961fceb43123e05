#include "tests/support/node_process.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sys/wait.h>
#include <thread>

namespace sy::test {

node_process::node_process(const std::string& toml, const std::string& broker_url,
                           const std::string& broker_keys)
    : node_process(toml, std::vector<std::string>{broker_url}, broker_keys) {}

node_process::node_process(const std::string& toml, const std::vector<std::string>& broker_urls,
                           const std::string& broker_keys)
    : child_({SY_SWITCHYARD_BIN, "node", "--config", dir_.path + "/node.toml"},
             dir_.path + "/node.log") {
  if (dir_.path.empty()) {
    std::fprintf(stderr, "node_process: cannot create a temp directory\n");
    std::exit(1);
  }
  std::string urls;
  for (const auto& u : broker_urls)
    urls += (urls.empty() ? "\"" : ", \"") + u + "\"";
  std::ofstream out{dir_.path + "/node.toml"};
  out << "[node]\ndata_dir = \"" << dir_.path << "/data\"\nshutdown_grace = \"10s\"\n"
      << "heartbeat_interval = \"1s\"\n"
      << "[broker]\nurls = [" << urls << "]\n"
      << broker_keys << '\n'
      << toml << '\n';
  out.close();
  restart();
}

node_process::~node_process() = default;

int node_process::stop(int seconds) {
  return child_.stop(std::chrono::seconds{seconds});
}

void node_process::signal(int sig) {
  child_.signal(sig);
}

void node_process::kill9() {
  child_.kill();
}

void node_process::restart() {
  if (child_.running()) stop();
  if (auto started = child_.start(); !started) {
    std::fprintf(stderr, "node_process: %s\n", started.error().message.c_str());
    std::exit(1);
  }
}

bool node_process::running() {
  return child_.running();
}

std::string node_process::log_text() const {
  return child_.log_text();
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
