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

expected<void> parse_headers(const std::vector<std::string>& pairs, bool as_json, value& out) {
  for (const auto& pair : pairs) {
    auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0)
      return make_error(errc::invalid_input, "header \"" + pair + "\" is not key=value");
    auto key = pair.substr(0, eq);
    auto text = pair.substr(eq + 1);
    if (!as_json) {
      out[key] = text;
      continue;
    }
    auto v = value::parse(text, nullptr, false);
    if (v.is_discarded())
      return make_error(errc::invalid_input, "header \"" + key + "\": invalid JSON " + text);
    out[key] = std::move(v);
  }
  return {};
}

} // namespace sy::cli
