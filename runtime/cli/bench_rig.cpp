#include "runtime/cli/bench_rig.hpp"

#include "runtime/config/node_config.hpp"
#include "runtime/core/cpu_affinity.hpp"

#include <fstream>

namespace sy::cli {

expected<std::unique_ptr<bench_rig>> bench_rig::start(const std::string& name,
                                                      const std::string& node_toml,
                                                      const std::string& node_keys, bool split) {
  std::unique_ptr<bench_rig> rig{new bench_rig};
  const auto& dir = rig->dir.path;
  if (dir.empty()) return make_error(errc::io, "cannot create a temp directory under /tmp");
  broker::embedded_server_options sopts;
  sopts.data_dir = dir + "/nats";
  sopts.port = 0;
  // As a node's embedded server with the default settings: it shares the
  // machine with the node.
  sopts.threads = broker::shared_machine_server_threads();
  sopts.gc_percent = config::broker_options{}.embedded_gc_percent;
  if (split) {
    // The node started below inherits this process's CPUs.
    auto cpus = take_node_cpus(sopts.threads);
    if (!cpus) return make_error(cpus.error().code, "--split-cpus: " + cpus.error().message);
    sopts.cpus = cpus->server;
    sopts.threads = static_cast<int>(cpus->server.size());
  }
  auto server = broker::embedded_server::start(sopts);
  if (!server) return make_error(server.error().code, "nats-server: " + server.error().message);
  rig->server.emplace(std::move(*server));
  auto config_path = dir + "/node.toml";
  std::ofstream{config_path} << "[node]\nname = \"" << name << "\"\ndata_dir = \"" << dir
                             << "/node\"\nshutdown_grace = \"10s\"\n"
                             << node_keys << "[broker]\nurls = [\"" << rig->server->url()
                             << "\"]\nstorage = \"file\"\n"
                             << node_toml;
  rig->node.emplace(node_argv(config_path), dir + "/node.log");
  if (auto r = rig->node->start(); !r) return r.error();
  if (auto r = rig->node->wait_running(std::chrono::seconds{30}); !r) return r.error();
  return rig;
}

} // namespace sy::cli
