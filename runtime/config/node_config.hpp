#pragma once

#include "runtime/config/located_value.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

/// The typed configuration of one node (DESIGN §7). Plain value types, filled
/// by `config::load`; every field's in-class default is the value a node uses
/// when no layer sets the key. Keys, ranges and environment variables are
/// documented in docs/CONFIG.md; the checks live in schema.cpp.
namespace sy::config {

/// Every duration of the configuration.
using milliseconds = std::chrono::milliseconds;

/// [node]: the process itself.
struct node_options {
  /// Node name, also its key in `sy_nodes`; empty: the caller uses "<hostname>-<pid>".
  std::string name;
  /// Directory for local state (the embedded nats-server's store).
  std::string data_dir = "./.switchyard";
  /// How long a graceful stop waits for in-flight tasks before handing them back.
  milliseconds shutdown_grace = std::chrono::seconds{30};
  /// How often the node refreshes its heartbeat in `sy_nodes`.
  milliseconds heartbeat_interval = std::chrono::seconds{5};
  /// CAF scheduler threads (`scheduler.max-threads`).
  int threads = 2;
  /// How those threads find work (CAF's `scheduler.policy`): "sharing", one
  /// queue all threads wait on, or "stealing", a queue per thread with
  /// polling (docs/BENCHMARKS.md compares them).
  std::string thread_policy = "sharing";
  /// Wake-up latency, in microseconds, the node asks the machine's CPUs to
  /// keep while it runs (PM QoS, /dev/cpu_dma_latency); -1: none asked.
  int cpu_latency_us = -1;
};

/// [broker]: NATS JetStream.
struct broker_options {
  /// Servers to connect to ("nats://" or "tls://"); empty: start an embedded nats-server.
  std::vector<std::string> urls;
  /// Replicas of the streams and buckets this node creates.
  int replicas = 1;
  /// Port of the embedded server; 0 picks a free port.
  int embedded_port = 4222;
  /// Threads of the embedded server (its GOMAXPROCS); 0: half the cores.
  int embedded_threads = 0;
  /// GOGC of the embedded server; 0: as the environment has it.
  int embedded_gc_percent = 400;
  /// "shared": the node and its embedded server run on any CPU; "split":
  /// the server on `embedded_threads` cores of its own, the node on the
  /// others.
  std::string embedded_cpus = "shared";
  /// How long connecting to the broker may take before the node gives up.
  milliseconds connect_timeout = std::chrono::seconds{5};
  /// Storage of the streams this node creates: "file" or "memory".
  std::string storage = "file";
  /// Deliveries of a task before it becomes Crashed; consumers inherit it.
  int max_deliver = 5;
  /// How long a delivered, unacked task waits before it is redelivered.
  milliseconds ack_wait = std::chrono::seconds{30};
  /// JetStream's duplicate-detection window for published tasks.
  milliseconds dedup_window = std::chrono::minutes{2};
};

/// [plugins]: shared libraries loaded at start.
struct plugins_options {
  /// Directories whose every .so is loaded at start.
  std::vector<std::string> dirs;
};

/// [log]: spdlog.
struct log_options {
  /// Default level: trace, debug, info, warn, error, critical or off.
  std::string level = "info";
  /// Also publish log records to the broker (`SY_LOGS`).
  bool publish = true;
  /// Per-logger level overrides: subsystem name ("router") → level.
  std::map<std::string, std::string> levels;
};

/// [router]: routing of unrouted tasks.
struct router_options {
  /// Router actors on this node; 0: this node routes nothing.
  int instances = 1;
  /// Unrouted tasks fetched per batch.
  int batch = 256;
};

/// [housekeeper]: garbage collection and timeouts.
struct housekeeper_options {
  /// Run a housekeeper on this node.
  bool enabled = true;
  /// Time between two housekeeping passes.
  milliseconds interval = std::chrono::seconds{10};
  /// How long Crashed tasks are kept before they are deleted.
  milliseconds crashed_ttl = std::chrono::hours{72};
  /// A task recorded Started for longer than this (its worker is gone) is
  /// recorded Crashed.
  milliseconds started_timeout = std::chrono::minutes{30};
  /// A non-persistent bind whose consumers are all offline this long is removed.
  milliseconds bind_offline_ttl = std::chrono::minutes{10};
  /// A resource no task record refers to is deleted once stored this long.
  milliseconds resource_retention = std::chrono::hours{1};
  /// Time between two passes of the resource collection.
  milliseconds resource_gc_interval = std::chrono::minutes{1};
};

/// [api]: the HTTP API.
struct api_options {
  /// "host:port" to listen on; empty: no HTTP API.
  std::string listen;
  /// Bearer token required by the API; empty: no authentication.
  std::string token;
  /// Largest accepted request body, in bytes.
  std::int64_t max_body = 16 * 1024 * 1024;
};

/// A scheduler or ranker chosen by name, with its own configuration table,
/// which the plugin validates.
struct plugin_ref {
  /// Registered plugin name, e.g. "sy.schedulers.fifo".
  std::string name;
  /// The plugin's `config` table; an empty object when not given.
  located_value config;
};

/// One [[consumer]]: a consumer identity served by this node.
struct consumer_options {
  /// Consumer identity, `[a-z0-9][a-z0-9._-]*`; required.
  std::string identity;
  /// Name of the consumer plugin; required. `sy.external`: the tasks are
  /// handed to workers outside the node through the HTTP API.
  std::string plugin;
  /// The bind's filter rules (DESIGN §2) as a JSON array of objects; required.
  located_value filters{sy::value::array()};
  /// Keep the bind when no replica is online.
  bool persistent = true;
  /// Informational version of the consumer service, stored in the bind.
  std::string service_version;
  /// Informational description, stored in the bind.
  std::string info;
  /// Tasks processed at once by this node for this identity.
  int concurrency = 1;
  /// A task running longer than this is abandoned and redelivered.
  milliseconds task_timeout = std::chrono::minutes{10};
  /// With `plugin = "sy.external"`: how long an external worker holds a
  /// popped task without reporting before it goes back to the queue.
  milliseconds lease = std::chrono::seconds{60};
  /// A task's Started record is written once it has run this long (0: when
  /// it starts); shorter tasks go from Spawned to Finished.
  milliseconds record_started_after = std::chrono::milliseconds{250};
  /// Interval of in-progress heartbeats sent while a task runs.
  milliseconds heartbeat = std::chrono::seconds{30};
  /// Deliveries before a task becomes Crashed; `load` copies
  /// broker.max_deliver here when the file does not set it.
  int max_deliver = 5;
  /// The queue's scheduler plugin.
  plugin_ref scheduler{"sy.schedulers.fifo", {}};
  /// The queue's ranker plugin.
  plugin_ref ranker{"sy.rankers.priority", {}};
  /// The consumer plugin's own configuration table.
  located_value config;
};

/// Everything a node reads from its configuration.
struct node_config {
  node_options node;
  broker_options broker;
  plugins_options plugins;
  log_options log;
  router_options router;
  housekeeper_options housekeeper;
  api_options api;
  /// The [[consumer]] tables of the last file that has any, in file order.
  std::vector<consumer_options> consumers;
};

} // namespace sy::config
