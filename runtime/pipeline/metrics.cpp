#include "runtime/pipeline/metrics.hpp"

namespace sy::pipeline {

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
        {"produced", m->produced.load()},
        {"assigned", m->assigned.load()},
        {"consumed", m->consumed.load()},
        {"finished", m->finished.load()},
        {"crashed", m->crashed.load()},
        {"garbage_collected", m->garbage_collected.load()},
        {"duplicates", m->duplicates.load()},
        {"queue_wait_us_sum", m->queue_wait_us.load()},
        {"processing_us_sum", m->processing_us.load()},
        {"in_flight", m->in_flight.load()},
    };
  }
  return {{"identities", ids},
          {"unmatched", unmatched.load()},
          {"routed", routed.load()},
          {"parked", parked.load()}};
}

} // namespace sy::pipeline
