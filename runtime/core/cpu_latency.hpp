#pragma once

#include "runtime/core/expected.hpp"

namespace sy {

/// Keeps the machine's CPUs able to wake within a bound while it lives: a
/// PM QoS request through /dev/cpu_dma_latency, as tuned's
/// latency-performance profile makes. Idle CPUs then stay in idle states
/// that wake at least that fast; 0 makes them poll instead of halting, which
/// on a virtual machine spares each wake-up a trip through the hypervisor
/// (docs/BENCHMARKS.md) at the cost of idle CPUs that never rest. The
/// request is the kernel's to enforce and ends when this object goes (or the
/// process dies). Opening the device needs root.
class cpu_latency_request {
public:
  /// Requests `microseconds` (>= 0). `errc::invalid_input` for a negative
  /// value, `errc::io` when the device cannot be opened or written (the
  /// message names it and says why).
  static expected<cpu_latency_request> hold(int microseconds);

  /// The bound in force now, across every process's requests; the kernel's
  /// default (2000000000) when nobody asks for one.
  static expected<int> current();

  cpu_latency_request(cpu_latency_request&& other) noexcept;
  cpu_latency_request& operator=(cpu_latency_request&& other) noexcept;
  cpu_latency_request(const cpu_latency_request&) = delete;
  cpu_latency_request& operator=(const cpu_latency_request&) = delete;
  ~cpu_latency_request();

private:
  explicit cpu_latency_request(int fd) noexcept : fd_(fd) {}

  int fd_ = -1;
};

} // namespace sy
