#pragma once

#include "runtime/config/loaded_config.hpp"

namespace sy::actors {

/// Runs a node until SIGINT or SIGTERM (DESIGN §5): validates the consumers
/// of `cfg` against the plugin registry, starts or connects to the broker,
/// creates the JetStream layout, registers the binds, spawns the routers
/// and schedulers the configuration names, heartbeats into `sy_nodes`, and
/// on a signal stops gracefully (a second signal stops at once). Returns
/// the process exit code: 0 after a clean stop, 2 for a configuration or
/// plugin error found before anything started, 1 when the broker failed.
///
/// Must be called from the main thread before any other thread exists: it
/// blocks SIGINT and SIGTERM process-wide to receive them synchronously.
int run_node(const config::loaded_config& cfg);

} // namespace sy::actors
