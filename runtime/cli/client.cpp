#include "runtime/cli/client.hpp"

namespace sy::cli {

expected<std::shared_ptr<broker::connection>> connect_client(const config::node_config& cfg,
                                                             const std::string& client_name) {
  broker::connection_options opts;
  opts.urls = cfg.broker.urls;
  bool embedded = opts.urls.empty();
  if (embedded) opts.urls = {"nats://127.0.0.1:" + std::to_string(cfg.broker.embedded_port)};
  opts.name = "switchyard " + client_name;
  opts.connect_timeout = cfg.broker.connect_timeout;
  auto conn = broker::connection::connect(opts);
  if (!conn && embedded)
    return make_error(conn.error().code,
                      conn.error().message +
                          " (no broker.urls configured: is a node with the embedded "
                          "nats-server running on this machine?)");
  return conn;
}

} // namespace sy::cli
