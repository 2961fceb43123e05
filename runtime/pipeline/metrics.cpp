#include "runtime/pipeline/metrics.hpp"

#include <algorithm>
#include <cmath>

namespace sy::pipeline {

namespace {

std::string bucket_name(std::size_t i) {
  if (i >= duration_histogram::bounds_ms.size()) return "+Inf";
  char text[32];
  std::snprintf(text, sizeof text, "%g", duration_histogram::bounds_ms[i]);
  return text;
}

} // namespace

void duration_histogram::observe(double seconds) {
  auto ms = std::max(0.0, seconds * 1000);
  auto i = static_cast<std::size_t>(std::lower_bound(bounds_ms.begin(), bounds_ms.end(), ms) -
                                    bounds_ms.begin());
  counts_[i]++;
  sum_us_ += static_cast<std::uint64_t>(std::llround(ms * 1000));
}

value duration_histogram::to_json() const {
  value buckets = value::object();
  std::uint64_t count = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    auto n = counts_[i].load();
    count += n;
    if (n > 0) buckets[bucket_name(i)] = n;
  }
  return {{"count", count}, {"sum_ms", sum_us_.load() / 1000.0}, {"buckets", buckets}};
}

std::optional<double> duration_histogram::quantile_ms(const value& json, double q) {
  auto count = json.value("count", std::uint64_t{0});
  if (count == 0) return std::nullopt;
  auto buckets = json.value("buckets", value::object());
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bounds_ms.size(); ++i) {
    seen += buckets.value(bucket_name(i), std::uint64_t{0});
    if (seen >= std::max<std::uint64_t>(rank, 1)) return bounds_ms[i];
  }
  return std::nullopt;
}

identity_metrics& metrics::of(const std::string& identity) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& slot = identities_[identity];
  if (!slot) slot = std::make_unique<identity_metrics>();
  return *slot;
}

value metrics::to_json() const {
  value ids = value::object();
  std::lock_guard<std::mutex> guard{mutex_};
  for (const auto& [identity, m] : identities_) {
    ids[identity] = {
        {"produced", m->produced.load()},        {"assigned", m->assigned.load()},
        {"consumed", m->consumed.load()},        {"finished", m->finished.load()},
        {"crashed", m->crashed.load()},          {"garbage_collected", m->garbage_collected.load()},
        {"duplicates", m->duplicates.load()},    {"deduplicated", m->deduplicated.load()},
        {"queue_wait", m->queue_wait.to_json()}, {"processing", m->processing.to_json()},
        {"in_flight", m->in_flight.load()},
    };
  }
  return {{"identities", ids},
          {"unmatched", unmatched.load()},
          {"routed", routed.load()},
          {"parked", parked.load()}};
}

} // namespace sy::pipeline
