#pragma once

#include "runtime/broker/connection.hpp"
#include "runtime/config/node_config.hpp"
#include "runtime/core/value.hpp"

#include <memory>
#include <string>
#include <vector>

namespace sy::cli {

/// Connects a command-line client to the broker the configuration names;
/// with no `broker.urls`, to the embedded server a local node started
/// (nats://127.0.0.1:<broker.embedded_port>). The error says which URLs were
/// tried and what to check.
expected<std::shared_ptr<broker::connection>> connect_client(const config::node_config& cfg,
                                                             const std::string& client_name);

/// Parses "key=value" pairs (`--header`) into the object `out`; with
/// `as_json` the value is JSON (`--header-json`). Errors name the pair.
expected<void> parse_headers(const std::vector<std::string>& pairs, bool as_json, value& out);

} // namespace sy::cli
