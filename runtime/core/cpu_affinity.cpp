#include "runtime/core/cpu_affinity.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <optional>
#include <sched.h>
#include <utility>

namespace sy {

namespace {

/// Sets the CPUs of every thread of this process; the first failure's
/// thread and errno, if any.
std::optional<std::pair<pid_t, int>> set_every_thread(const cpu_set_t& set) {
  std::error_code ec;
  std::filesystem::directory_iterator it{"/proc/self/task", ec}, end;
  if (ec) return std::pair{pid_t{0}, ec.value()};
  for (; it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    pid_t tid = 0;
    if (std::from_chars(name.data(), name.data() + name.size(), tid).ec != std::errc{}) continue;
    // A thread that ended meanwhile is no failure.
    if (sched_setaffinity(tid, sizeof set, &set) != 0 && errno != ESRCH)
      return std::pair{tid, errno};
  }
  if (ec) return std::pair{pid_t{0}, ec.value()};
  return std::nullopt;
}

} // namespace

expected<std::vector<int>> allowed_cpus(pid_t tid) {
  cpu_set_t set;
  if (sched_getaffinity(tid, sizeof set, &set) != 0) {
    int e = errno;
    return make_error(errc::io, "cannot read the CPUs of thread " + std::to_string(tid) + ": " +
                                    std::strerror(e));
  }
  std::vector<int> out;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) out.push_back(cpu);
  return out;
}

expected<cpu_split> split_cpus(const std::vector<int>& allowed, int server_cpus) {
  if (allowed.size() < 2)
    return make_error(errc::invalid_input, "a split needs 2 CPUs; this process may run on CPUs " +
                                               cpu_list(allowed) + " only");
  auto n = static_cast<std::size_t>(std::clamp<int>(server_cpus, 1, allowed.size() - 1));
  cpu_split out;
  out.node.assign(allowed.begin(), allowed.end() - n);
  out.server.assign(allowed.end() - n, allowed.end());
  return out;
}

cpu_set_t to_cpu_set(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (auto cpu : cpus)
    CPU_SET(cpu, &set);
  return set;
}

expected<void> restrict_process(const std::vector<int>& cpus) {
  for (auto cpu : cpus)
    if (cpu < 0 || cpu >= CPU_SETSIZE)
      return make_error(errc::invalid_input, "no such CPU: " + std::to_string(cpu));
  auto set = to_cpu_set(cpus);
  cpu_set_t before;
  if (sched_getaffinity(0, sizeof before, &before) != 0) {
    int e = errno;
    return make_error(errc::io, std::string{"cannot read this thread's CPUs: "} + std::strerror(e));
  }
  auto failed = set_every_thread(set);
  if (!failed) return {};
  (void)set_every_thread(before);
  auto [tid, e] = *failed;
  return make_error(errc::io, "cannot restrict " +
                                  (tid ? "thread " + std::to_string(tid) : std::string{"threads"}) +
                                  " to CPUs " + cpu_list(cpus) + ": " + std::strerror(e));
}

expected<cpu_split> take_node_cpus(int server_cpus) {
  auto allowed = allowed_cpus();
  if (!allowed) return allowed.error();
  auto split = split_cpus(*allowed, server_cpus);
  if (!split) return split.error();
  if (auto r = restrict_process(split->node); !r) return r.error();
  return split;
}

std::string cpu_list(const std::vector<int>& cpus) {
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    auto j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1)
      ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) out += '-' + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

} // namespace sy
