#pragma once

#include "runtime/core/expected.hpp"
#include "runtime/core/value.hpp"
#include "runtime/filter/filter_set.hpp"

#include <string>

namespace sy::pipeline {

/// What a consumer identity registers (DESIGN §1), stored as JSON in
/// `sy_binds` under the identity so that any tool can read it.
struct bind {
  std::string identity;
  /// The filter rules, as given; `compiled` is built from them.
  value filters = value::array();
  /// Keep the bind and its queue while no replica is online.
  bool persistent = true;
  std::string service_version;
  std::string info;
  /// Served by workers outside the nodes, through the HTTP API.
  bool external = false;
  /// The node that registered this version of the bind.
  std::string node;
  /// Unix seconds of the registration.
  double registered_at = 0;
};

/// A bind with its filters compiled, as routers keep it.
struct compiled_bind {
  bind spec;
  filter::filter_set filters;
};

value to_json(const bind& b);

/// Reads a bind record and compiles its filters; an invalid record or filter
/// is an `errc::invalid_input` error naming the identity.
expected<compiled_bind> compile_bind(const value& json);

/// True if two binds route the same way and describe the same service
/// (registration time and node aside): re-registering it changes nothing.
bool same_service(const bind& a, const bind& b);

} // namespace sy::pipeline
