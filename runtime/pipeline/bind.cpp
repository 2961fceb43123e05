#include "runtime/pipeline/bind.hpp"

namespace sy::pipeline {

value to_json(const bind& b) {
  return {
      {"identity", b.identity},
      {"filters", b.filters},
      {"persistent", b.persistent},
      {"service_version", b.service_version},
      {"info", b.info},
      {"external", b.external},
      {"node", b.node},
      {"registered_at", b.registered_at},
  };
}

expected<compiled_bind> compile_bind(const value& json) {
  auto fail = [&](const std::string& what) {
    auto who = json.is_object() && json.contains("identity") && json["identity"].is_string()
                   ? "bind \"" + json["identity"].get<std::string>() + "\""
                   : std::string{"bind record"};
    return make_error(errc::invalid_input, who + ": " + what);
  };
  if (!json.is_object()) return fail("not a JSON object");
  if (!json.contains("identity") || !json["identity"].is_string())
    return fail("\"identity\" must be a string");
  bind b;
  b.identity = json["identity"];
  b.filters = json.value("filters", value::array());
  b.persistent = json.value("persistent", true);
  b.service_version = json.value("service_version", "");
  b.info = json.value("info", "");
  b.external = json.value("external", false);
  b.node = json.value("node", "");
  b.registered_at = json.value("registered_at", 0.0);
  auto filters = filter::filter_set::compile(b.filters);
  if (!filters) return fail(filters.error().message);
  return compiled_bind{std::move(b), std::move(*filters)};
}

bool same_service(const bind& a, const bind& b) {
  return a.identity == b.identity && a.filters == b.filters && a.persistent == b.persistent &&
         a.service_version == b.service_version && a.info == b.info && a.external == b.external;
}

} // namespace sy::pipeline
