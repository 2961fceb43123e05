#include "runtime/broker/embedded_server.hpp"

#include "runtime/core/cpu_affinity.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace sy::broker {

namespace fs = std::filesystem;

namespace {

using clock = std::chrono::steady_clock;

bool is_executable(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

std::string log_tail(const std::string& path, std::uintmax_t from) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "(no log at " + path + ")";
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  constexpr std::uintmax_t max_tail = 2000;
  auto start = size > from + max_tail ? size - max_tail : from;
  in.seekg(static_cast<std::streamoff>(start));
  std::ostringstream text;
  text << in.rdbuf();
  auto out = text.str();
  return out.empty() ? "(log " + path + " is empty)" : out;
}

bool accepts_tcp(const std::string& host, std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  bool ok = ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) == 1 &&
            ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

/// The client port the server wrote to `<dir>/nats-server_<pid>.ports`, or 0.
std::uint16_t read_ports_file(const std::string& dir, pid_t pid) {
  std::ifstream in(fs::path(dir) / ("nats-server_" + std::to_string(pid) + ".ports"));
  if (!in) return 0;
  auto doc = nlohmann::json::parse(in, nullptr, false);
  if (doc.is_discarded() || !doc.contains("nats") || !doc["nats"].is_array() ||
      doc["nats"].empty() || !doc["nats"][0].is_string())
    return 0;
  auto url = doc["nats"][0].get<std::string>();
  auto colon = url.rfind(':');
  if (colon == std::string::npos) return 0;
  return static_cast<std::uint16_t>(std::atoi(url.c_str() + colon + 1));
}

/// This process's environment with GOMAXPROCS and GOGC set as `opts` says.
std::vector<std::string> server_environment(const embedded_server_options& opts) {
  std::vector<std::pair<std::string, int>> set;
  if (opts.threads > 0) set.emplace_back("GOMAXPROCS=", opts.threads);
  if (opts.gc_percent > 0) set.emplace_back("GOGC=", opts.gc_percent);
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (std::none_of(set.begin(), set.end(),
                     [e](const auto& v) { return std::string_view{*e}.rfind(v.first, 0) == 0; }))
      env.emplace_back(*e);
  for (const auto& [name, n] : set)
    env.push_back(name + std::to_string(n));
  return env;
}

/// What the child of `spawn` failed at, sent back with its errno.
constexpr int child_failure_cpus = 1;
constexpr int child_failure_exec = 2;

/// fork + exec with stdout/stderr appended to `log_fd`, on `cpus` (valid
/// CPU numbers; empty: this thread's). Only async-signal-safe calls between
/// fork and exec; a failure to place the child or to exec comes back
/// through a pipe.
expected<pid_t> spawn(const std::string& binary, std::vector<std::string> args,
                      std::vector<std::string> env, int log_fd, bool stop_with_parent,
                      const std::vector<int>& cpus) {
  auto cpu_set = to_cpu_set(cpus);
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0)
    return make_error(errc::io, std::string("cannot create a pipe: ") + std::strerror(errno));
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    return make_error(errc::io, std::string("cannot fork nats-server: ") + std::strerror(e));
  }
  if (pid == 0) {
    // A clean signal state: the mask and ignored signals survive exec, and a
    // node blocks SIGINT/SIGTERM to sigwait for them.
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGUSR1, SIGUSR2, SIGCHLD})
      ::signal(sig, SIG_DFL);
    ::setpgid(0, 0); // its own process group: a terminal's Ctrl-C is not for it
    if (!cpus.empty() && ::sched_setaffinity(0, sizeof cpu_set, &cpu_set) != 0) {
      int failure[2] = {child_failure_cpus, errno};
      [[maybe_unused]] auto n = ::write(err_pipe[1], failure, sizeof failure);
      ::_exit(127);
    }
    if (stop_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
    }
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
#ifdef SYS_close_range
    ::syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
#endif
    ::execve(binary.c_str(), argv.data(), envp.data());
    int failure[2] = {child_failure_exec, errno};
    [[maybe_unused]] auto n = ::write(err_pipe[1], failure, sizeof failure);
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  int failure[2] = {0, 0};
  auto n = ::read(err_pipe[0], failure, sizeof failure);
  ::close(err_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    ::waitpid(pid, nullptr, 0);
    if (failure[0] == child_failure_cpus)
      return make_error(errc::io, "cannot run nats-server on CPUs " + cpu_list(cpus) + ": " +
                                      std::strerror(failure[1]));
    return make_error(errc::io, "cannot run " + binary + ": " + std::strerror(failure[1]));
  }
  return pid;
}

} // namespace

expected<std::string> find_nats_server() {
  std::vector<fs::path> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::string_view rest(path);
    while (!rest.empty()) {
      auto colon = rest.find(':');
      auto dir = rest.substr(0, colon);
      if (!dir.empty()) dirs.emplace_back(std::string(dir));
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  dirs.emplace_back("/usr/sbin");
  dirs.emplace_back("/usr/local/sbin");
  for (const auto& dir : dirs)
    if (auto candidate = dir / "nats-server"; is_executable(candidate)) return candidate.string();
  return make_error(errc::not_found, "nats-server not found on PATH or /usr/sbin; install "
                                     "Debian's nats-server package (apt-get install nats-server) "
                                     "or configure broker URLs");
}

int shared_machine_server_threads() {
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / 2);
}

expected<embedded_server> embedded_server::start(embedded_server_options opts) {
  if (opts.data_dir.empty())
    return make_error(errc::invalid_input, "the embedded nats-server needs a data directory");
  for (auto cpu : opts.cpus)
    if (cpu < 0 || cpu >= CPU_SETSIZE)
      return make_error(errc::invalid_input, "the embedded nats-server cannot run on CPU " +
                                                 std::to_string(cpu) + ": no such CPU number");
  std::error_code ec;
  fs::create_directories(opts.data_dir, ec);
  if (ec)
    return make_error(errc::io, "cannot create nats-server data directory " + opts.data_dir + ": " +
                                    ec.message());
  if (opts.log_file.empty()) opts.log_file = (fs::path(opts.data_dir) / "nats-server.log").string();
  embedded_server server(std::move(opts));
  if (!server.opts_.binary.empty()) {
    server.binary_ = server.opts_.binary;
  } else {
    auto found = find_nats_server();
    if (!found) return found.error();
    server.binary_ = *found;
  }
  server.port_ = server.opts_.port;
  if (auto r = server.launch(); !r) return r.error();
  return server;
}

expected<void> embedded_server::launch() {
  int log_fd = ::open(opts_.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0)
    return make_error(errc::io, "cannot open nats-server log " + opts_.log_file + ": " +
                                    std::strerror(errno));
  std::error_code ec;
  auto log_start = fs::file_size(opts_.log_file, ec);
  std::vector<std::string> args{"nats-server",
                                "-js",
                                "-a",
                                opts_.host,
                                "-p",
                                port_ == 0 ? std::string("-1") : std::to_string(port_),
                                "-sd",
                                (fs::path(opts_.data_dir) / "jetstream").string(),
                                "--ports_file_dir",
                                opts_.data_dir};
  args.insert(args.end(), opts_.extra_args.begin(), opts_.extra_args.end());
  auto pid = spawn(binary_, std::move(args), server_environment(opts_), log_fd,
                   opts_.stop_with_parent, opts_.cpus);
  ::close(log_fd);
  if (!pid) return pid.error();
  pid_ = *pid;

  auto deadline = clock::now() + opts_.start_timeout;
  auto delay = std::chrono::milliseconds(5);
  for (;;) {
    if (!is_running())
      return make_error(errc::unavailable, "nats-server exited during startup; its log (" +
                                               opts_.log_file + ") ends with:\n" +
                                               log_tail(opts_.log_file, log_start));
    if (port_ == 0) port_ = read_ports_file(opts_.data_dir, pid_);
    if (port_ != 0 && accepts_tcp(opts_.host, port_)) return {};
    if (clock::now() > deadline) {
      auto tail = log_tail(opts_.log_file, log_start);
      stop();
      return make_error(errc::unavailable, "nats-server did not accept connections within " +
                                               std::to_string(opts_.start_timeout.count()) +
                                               " ms; its log (" + opts_.log_file +
                                               ") ends with:\n" + tail);
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(50));
  }
}

embedded_server::embedded_server(embedded_server&& other) noexcept
    : opts_(std::move(other.opts_)), binary_(std::move(other.binary_)), port_(other.port_),
      pid_(std::exchange(other.pid_, -1)) {}

embedded_server& embedded_server::operator=(embedded_server&& other) noexcept {
  if (this != &other) {
    stop();
    opts_ = std::move(other.opts_);
    binary_ = std::move(other.binary_);
    port_ = other.port_;
    pid_ = std::exchange(other.pid_, -1);
  }
  return *this;
}

embedded_server::~embedded_server() {
  stop();
}

std::string embedded_server::url() const {
  return "nats://" + opts_.host + ":" + std::to_string(port_);
}

bool embedded_server::is_running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  pid_ = -1; // exited and reaped (or not our child any more)
  return false;
}

void embedded_server::stop() {
  if (!is_running()) return;
  ::kill(pid_, SIGTERM);
  auto deadline = clock::now() + opts_.stop_grace;
  while (clock::now() < deadline) {
    if (!is_running()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

expected<void> embedded_server::restart() {
  stop();
  return launch();
}

std::uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  return ok ? ntohs(addr.sin_port) : 0;
}

} // namespace sy::broker
