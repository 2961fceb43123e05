#pragma once

#include "runtime/broker/embedded_server.hpp"
#include "runtime/cli/child_process.hpp"
#include "runtime/core/expected.hpp"

#include <memory>
#include <optional>
#include <string>

namespace sy::cli {

/// What an end-to-end benchmark runs against: a temporary directory, a
/// fresh embedded nats-server with file storage in it, and one `switchyard
/// node` child configured with `[node]` (name, data_dir, shutdown_grace)
/// and `[broker]` (urls, storage) plus the caller's `node_toml` (consumers,
/// log, router...). Everything goes when it is destroyed.
struct bench_rig {
  temp_dir dir;
  std::optional<broker::embedded_server> server;
  std::optional<child_process> node;

  /// Starts the server and the node and waits until the node runs.
  /// `node_keys` are more lines of the `[node]` table. With `split`
  /// the server runs on cores of its own and this process and the node on
  /// the others, as `broker.embedded_cpus = "split"` places a node and its
  /// embedded server.
  static expected<std::unique_ptr<bench_rig>> start(const std::string& name,
                                                    const std::string& node_toml,
                                                    const std::string& node_keys = {},
                                                    bool split = false);

private:
  bench_rig() : dir{"sy-bench-"} {}
};

} // namespace sy::cli
