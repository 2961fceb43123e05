#pragma once

#include "runtime/core/expected.hpp"

#include <sched.h>
#include <string>
#include <sys/types.h>
#include <vector>

/// Which CPUs a process's threads may run on (Linux `sched_setaffinity`).
/// A node and its embedded nats-server can be given cores of their own
/// (`broker.embedded_cpus = "split"`, docs/CONFIG.md) so that neither waits
/// behind the other's threads (docs/BENCHMARKS.md, twelfth stop). CPU
/// numbers are those Linux uses, from 0 to `CPU_SETSIZE` - 1; lists are
/// ascending.
namespace sy {

/// The CPUs thread `tid` may run on; 0: the calling thread.
expected<std::vector<int>> allowed_cpus(pid_t tid = 0);

/// CPUs for a node and for its embedded server; neither is empty.
struct cpu_split {
  /// The node's, and those of every thread it starts.
  std::vector<int> node;
  /// The server's: the last ones.
  std::vector<int> server;
};

/// The last `server_cpus` of `allowed` for the server (at least one), the
/// others for the node (at least one); `errc::invalid_input` with fewer than
/// 2 CPUs.
expected<cpu_split> split_cpus(const std::vector<int>& allowed, int server_cpus);

/// `cpus` as a Linux CPU set; every number must be in range (0 to
/// `CPU_SETSIZE` - 1).
cpu_set_t to_cpu_set(const std::vector<int>& cpus);

/// Restricts every thread of this process to `cpus`; threads started
/// afterwards inherit it from the thread that starts them. Call it while no
/// other thread starts threads (a thread started meanwhile may keep the old
/// CPUs). On failure every thread is put back on the calling thread's CPUs,
/// and `errc::io` names the thread and the reason.
expected<void> restrict_process(const std::vector<int>& cpus);

/// Splits this process's CPUs with `split_cpus` and restricts the process
/// to the node's part: what a node (or the bench) does before it starts an
/// embedded server on the other part. Nothing is changed on failure.
expected<cpu_split> take_node_cpus(int server_cpus);

/// `cpus` (ascending) as Linux lists them (`/proc/PID/status`
/// "Cpus_allowed_list"), e.g. "0-2,5".
std::string cpu_list(const std::vector<int>& cpus);

} // namespace sy
