#pragma once

#include "runtime/broker/kv_bucket.hpp"
#include "runtime/core/expected.hpp"
#include "runtime/core/value.hpp"

#include <string>
#include <vector>

namespace sy::pipeline {

/// A node whose heartbeat in `sy_nodes` has not expired.
struct live_node {
  std::string name;
  /// Seconds since its last heartbeat.
  double age = 0;
  /// The heartbeat record (see actors/node/node.cpp).
  value record;

  /// True if the node runs replicas of `identity`.
  bool serves(const std::string& identity) const;
  /// The configured concurrency of `identity` on this node (0 if none).
  int concurrency(const std::string& identity) const;
};

/// The nodes with a heartbeat entry (`node.>`); the bucket's TTL removes
/// the entries of dead nodes. Blocking.
expected<std::vector<live_node>> read_live_nodes(broker::kv_bucket& nodes);

/// The live nodes serving `identity`, comma-separated; empty if none.
std::string serving_nodes(const std::vector<live_node>& nodes, const std::string& identity);

} // namespace sy::pipeline
