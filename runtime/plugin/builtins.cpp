#include "runtime/plugin/builtins.hpp"

#include "runtime/scheduling/rankers.hpp"

namespace sy::plugin {

void add_builtin_rankers(registry& reg) {
  for (const char* name : {"sy.rankers.priority", "sy.rankers.age", "sy.rankers.grace_period"}) {
    std::string n = name;
    (void)reg.add(ranker_factory{
        n,
        [n](const value& config) -> expected<void> {
          auto r = scheduling::make_ranker(n, config);
          if (!r) return r.error();
          return {};
        },
        [n](const value& config) { return scheduling::make_ranker(n, config); },
    });
  }
}

void add_builtins(registry& reg) {
  // Built-in names are unique by construction.
  add_synthetic_consumers(reg);
  add_builtin_rankers(reg);
  add_fifo_scheduler(reg);
  add_priority_queue_scheduler(reg);
}

} // namespace sy::plugin
