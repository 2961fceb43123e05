#include "runtime/filter/filter_set.hpp"

#include "runtime/filter/condition.hpp"

namespace sy::filter {

expected<filter_set> filter_set::compile(const value& rules) {
  if (!rules.is_array())
    return make_error(errc::invalid_input, "filters must be a list of rules (a JSON array)");
  auto compiled = std::make_shared<std::vector<rule>>();
  for (std::size_t i = 0; i < rules.size(); ++i) {
    auto r = compile_rule(rules[i], "filter rules[" + std::to_string(i) + "]", false);
    if (!r) return r.error();
    compiled->push_back(std::move(*r));
  }
  filter_set out;
  out.rules_ = std::move(compiled);
  out.source_ = std::make_shared<const value>(rules);
  return out;
}

expected<filter_set> filter_set::parse(std::string_view json_text) {
  try {
    return compile(value::parse(json_text));
  } catch (const value::parse_error& e) {
    return make_error(errc::invalid_input,
                      "invalid JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  }
}

bool filter_set::matches(const value& headers) const {
  if (!headers.is_object()) return false;
  bool matched = false;
  for (const auto& r : *rules_) {
    if (r.vetoes(headers)) return false;
    matched = matched || r.matches(headers);
  }
  return matched;
}

} // namespace sy::filter
