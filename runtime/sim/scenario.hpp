#pragma once

#include "runtime/core/expected.hpp"
#include "runtime/core/value.hpp"
#include "runtime/task/task.hpp"

#include <chrono>
#include <string>
#include <vector>

/// A simulation scenario (docs/SIMULATION.md): which broker, which nodes with
/// which configuration, which producers, and a timeline of faults. Read from
/// TOML by `load_scenario`; plain data.
namespace sy::sim {

using milliseconds = std::chrono::milliseconds;

/// One `[[node]]`: a `switchyard node` process.
struct node_spec {
  std::string name;
  /// TOML appended to the generated [node] and [broker] tables: routers,
  /// consumers, housekeeper... (`[simulation] node_config` unless the node
  /// has its own `config`).
  std::string config;
};

/// One entry of a producer's header mix.
struct header_choice {
  double weight = 1;
  value headers = value::object();
};

/// One `[[producer]]`: roots sent at a steady rate from `start` until
/// `count` were sent or `duration` passed, whichever comes first.
struct producer_spec {
  double rate = 100; ///< roots per second
  long count = 0;    ///< 0: no limit
  milliseconds start{0};
  milliseconds duration{0}; ///< 0: no limit (then `count` must be set)
  std::vector<header_choice> mix;
  /// Weights of high, normal, low.
  double priority_weights[3] = {0, 1, 0};
  value payload = value::object();
};

enum class fault_action { kill, restart, pause, resume, stop_broker, start_broker };

const char* to_string(fault_action a);

/// One `[[fault]]` of the timeline.
struct fault_spec {
  milliseconds at{0};
  fault_action action = fault_action::kill;
  /// The node of kill, restart, pause, resume.
  std::string node;
  /// The server (1..3) of stop_broker and start_broker in a cluster.
  int server = 1;
};

struct scenario {
  std::string name;
  std::string description;
  /// "single" (one nats-server) or "cluster" (three, replicas = 3).
  std::string broker = "single";
  std::string storage = "file";
  milliseconds drain_timeout{60000};
  milliseconds sample_interval{1000};
  std::vector<node_spec> nodes;
  std::vector<producer_spec> producers;
  std::vector<fault_spec> faults;
};

/// Reads and checks a scenario file. Errors name the file, line, section
/// and key ("steady.toml:12: [[producer]] #1 key \"rate\": must be > 0").
expected<scenario> load_scenario(const std::string& path);

} // namespace sy::sim
