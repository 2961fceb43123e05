#pragma once

#include "runtime/core/value.hpp"
#include "runtime/pipeline/live_nodes.hpp"

#include <string>
#include <vector>

/// Metrics in the Prometheus text format (version 0.0.4).
namespace sy::actors {

/// Renders the queues (`ops::list_queues`: pending, in flight, crashed,
/// replicas per identity, as gauges) and the counters and histograms of
/// every live node's last heartbeat (labelled `node` and `identity`, so
/// each series only grows while its node lives). Pure; for `GET /metrics`.
std::string render_prometheus(const value& queues, const std::vector<pipeline::live_node>& nodes);

} // namespace sy::actors
