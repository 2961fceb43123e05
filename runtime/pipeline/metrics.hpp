#pragma once

#include "runtime/core/value.hpp"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace sy::pipeline {

/// Counters of one consumer identity as seen by one node. Lock-free:
/// updated from actors and broker threads alike.
struct identity_metrics {
  /// Tasks routed into the identity's queue.
  std::atomic<std::uint64_t> produced{0};
  /// Tasks handed to a worker.
  std::atomic<std::uint64_t> assigned{0};
  /// Tasks taken from the queue (acked), whatever their outcome.
  std::atomic<std::uint64_t> consumed{0};
  std::atomic<std::uint64_t> finished{0};
  std::atomic<std::uint64_t> crashed{0};
  /// Records removed by the housekeeper.
  std::atomic<std::uint64_t> garbage_collected{0};
  /// Redeliveries skipped because the task had already ended.
  std::atomic<std::uint64_t> duplicates{0};
  /// Sum and count of the time tasks waited in the queue.
  std::atomic<std::uint64_t> queue_wait_us{0};
  /// Sum of the time `process` took.
  std::atomic<std::uint64_t> processing_us{0};
  /// Tasks being processed right now on this node.
  std::atomic<std::int64_t> in_flight{0};
};

/// The metrics of a node: per identity, plus routing counters.
/// Thread-safe.
class metrics {
public:
  /// The counters of `identity`, created on first use; the reference stays
  /// valid for the life of this object.
  identity_metrics& of(const std::string& identity);

  /// Unrouted tasks that matched no bind.
  std::atomic<std::uint64_t> unmatched{0};
  /// Unrouted tasks routed (forked at least once).
  std::atomic<std::uint64_t> routed{0};
  /// Messages parked because they could not be decoded.
  std::atomic<std::uint64_t> parked{0};

  /// A snapshot: {"identities": {id: {counter: n, ...}}, "unmatched": n, ...}.
  value to_json() const;

private:
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<identity_metrics>> identities_;
};

} // namespace sy::pipeline
