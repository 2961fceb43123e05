#pragma once

#include "actors/scheduler/scheduler.hpp"
#include "runtime/broker/connection.hpp"
#include "runtime/config/node_config.hpp"
#include "runtime/core/expected.hpp"
#include "runtime/pipeline/metrics.hpp"

#include <caf/fwd.hpp>
#include <map>
#include <memory>
#include <string>

namespace sy::actors {

/// What the HTTP API serves from.
struct api_deps {
  std::shared_ptr<broker::connection> conn;
  /// The node's actor system, to ask the schedulers of external identities.
  caf::actor_system* sys = nullptr;
  /// The schedulers of this node's external identities, by identity.
  std::map<std::string, scheduler_actor> external;
  /// This node's name and live metrics (fresher than its last heartbeat).
  std::string node;
  std::shared_ptr<pipeline::metrics> metrics;
};

/// The HTTP API, Prometheus metrics and dashboard of docs/API.md, served
/// by a node whose configuration has `[api] listen`. Runs on its own
/// threads (cpp-httplib's pool), where it may block on the broker; talks to
/// actors only through requests with a timeout. Stops when destroyed, before
/// the actor system and the connection it uses go.
class api_server {
public:
  /// Binds `opts.listen` (an error names the address when it is taken) and
  /// starts serving.
  static expected<std::unique_ptr<api_server>> start(const config::api_options& opts,
                                                     api_deps deps);

  ~api_server();
  api_server(const api_server&) = delete;
  api_server& operator=(const api_server&) = delete;

  /// The port it listens on (useful with port 0).
  int port() const noexcept { return port_; }

private:
  struct impl;
  explicit api_server(std::unique_ptr<impl> state);

  std::unique_ptr<impl> impl_;
  int port_ = 0;
};

} // namespace sy::actors
