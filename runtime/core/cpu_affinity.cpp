#include "runtime/core/cpu_affinity.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sched.h>
#include <string>

namespace sy {

namespace {

cpu_set_t to_set(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (auto cpu : cpus)
    CPU_SET(cpu, &set);
  return set;
}

} // namespace

expected<std::vector<int>> allowed_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0)
    return make_error(errc::io,
                      std::string{"cannot read this process's CPUs: "} + std::strerror(errno));
  std::vector<int> out;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) out.push_back(cpu);
  return out;
}

std::optional<cpu_split> split_cpus(const std::vector<int>& allowed, int server_cpus) {
  if (allowed.size() < 2) return std::nullopt;
  auto n = static_cast<std::size_t>(std::clamp<int>(server_cpus, 1, allowed.size() - 1));
  cpu_split out;
  out.node.assign(allowed.begin(), allowed.end() - n);
  out.server.assign(allowed.end() - n, allowed.end());
  return out;
}

expected<void> restrict_process(const std::vector<int>& cpus) {
  auto set = to_set(cpus);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator{"/proc/self/task", ec}) {
    auto tid = std::stoi(entry.path().filename().string());
    // A thread that ended meanwhile is no failure.
    if (sched_setaffinity(tid, sizeof set, &set) != 0 && errno != ESRCH)
      return make_error(errc::io, "cannot restrict thread " + std::to_string(tid) + " to CPUs " +
                                      cpu_list(cpus) + ": " + std::strerror(errno));
  }
  if (ec) return make_error(errc::io, "cannot list this process's threads: " + ec.message());
  return {};
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
