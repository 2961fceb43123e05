#pragma once

#include "runtime/core/value.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace sy::pipeline {

/// A distribution of durations in fixed buckets (upper bounds from 0.1 ms to
/// 5 min, roughly ×2.5 apart, then +Inf), as Prometheus histograms have.
/// Lock-free.
class duration_histogram {
public:
  /// Upper bounds in milliseconds; the last bucket is unbounded.
  static constexpr std::array<double, 19> bounds_ms{0.1,  0.25,  0.5,   1,     2.5,   5,    10,
                                                    25,   50,    100,   250,   500,   1000, 2500,
                                                    5000, 10000, 30000, 60000, 300000};

  void observe(double seconds);

  /// {"count", "sum_ms", "buckets": {"<bound ms>" | "+Inf": n}} with
  /// per-bucket (not cumulative) counts.
  value to_json() const;

  /// The value below which `q` (0..1) of the observations in `json` (as
  /// made by `to_json`, possibly summed over nodes) fall, as the upper bound
  /// of that bucket in milliseconds; none if there are no observations or
  /// it falls into the unbounded bucket.
  static std::optional<double> quantile_ms(const value& json, double q);

private:
  std::array<std::atomic<std::uint64_t>, bounds_ms.size() + 1> counts_{};
  std::atomic<std::uint64_t> sum_us_{0};
};

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
  /// Tasks the queue's scheduler found waiting already (same hash) and
  /// finished as duplicates without running them.
  std::atomic<std::uint64_t> deduplicated{0};
  /// From being queued (routed, or last handed back) to being handed to a
  /// worker.
  duration_histogram queue_wait;
  /// The time `process` took.
  duration_histogram processing;
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
