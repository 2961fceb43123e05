#pragma once

#include "runtime/core/expected.hpp"

#include <optional>
#include <string>
#include <vector>

/// Which CPUs a process's threads may run on (Linux `sched_setaffinity`).
/// A node and its embedded nats-server can be given cores of their own
/// (`broker.embedded_cpus = "split"`, docs/CONFIG.md) so that neither waits
/// behind the other's threads (docs/BENCHMARKS.md, twelfth stop).
namespace sy {

/// The CPUs this thread may run on, ascending.
expected<std::vector<int>> allowed_cpus();

/// CPUs for a node and for its embedded server.
struct cpu_split {
  std::vector<int> node;
  std::vector<int> server;
};

/// The last `server_cpus` of `allowed` for the server (at least one), the
/// others for the node (at least one); none with fewer than 2 CPUs.
std::optional<cpu_split> split_cpus(const std::vector<int>& allowed, int server_cpus);

/// Restricts every thread of this process to `cpus`; threads started
/// afterwards inherit it from the thread that starts them. `errc::io`
/// naming the thread and the reason when one cannot be moved.
expected<void> restrict_process(const std::vector<int>& cpus);

/// `cpus` as Linux lists them (`/proc/PID/status` "Cpus_allowed_list"),
/// e.g. "0-2,5".
std::string cpu_list(const std::vector<int>& cpus);

} // namespace sy
