#pragma once

#include "runtime/plugin/registry.hpp"

// The built-in plugins, one folder each under plugins/; `add_builtins`
// adds them all.
namespace sy::plugin {

void add_synthetic_consumers(registry& reg);
void add_builtin_rankers(registry& reg);
void add_fifo_scheduler(registry& reg);
void add_priority_queue_scheduler(registry& reg);

} // namespace sy::plugin
