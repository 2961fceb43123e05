// The filter language (DESIGN §2). docs/FILTERS.md is the user reference; its
// section "Edge cases" records every decision the design left open (sub-rule
// negation, globs' `^` and `\`, numbers' JSON text, `$elemMatch` forms, ...).
//
// Filters compile once into a tree: filter_set -> rule (rule.hpp) -> condition
// nodes (condition.hpp: operators; karton.hpp: top-level strings; glob.hpp;
// regex.hpp). Matching walks the tree; it parses nothing and never throws.

#include "runtime/filter/filter_set.hpp"

#include "runtime/filter/rule.hpp"

#include <vector>

namespace sy::filter {

struct filter_set::compiled {
  value source = value::array();
  std::vector<rule> rules;
};

filter_set::filter_set() {
  static const auto empty = std::make_shared<const compiled>();
  state_ = empty;
}

filter_set::filter_set(std::shared_ptr<const compiled> state) : state_(std::move(state)) {}

expected<filter_set> filter_set::compile(const value& rules) {
  if (!rules.is_array())
    return make_error(errc::invalid_input,
                      std::string{"filters must be a JSON array of rules; got "} +
                          rules.type_name());
  auto state = std::make_shared<compiled>();
  state->source = rules;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    auto r = rule::compile(rules[i], "filter rule " + std::to_string(i), string_mode::karton);
    if (!r) return r.error();
    state->rules.push_back(std::move(*r));
  }
  return filter_set{std::move(state)};
}

expected<filter_set> filter_set::parse(std::string_view json_text) {
  try {
    return compile(value::parse(json_text));
  } catch (const value::parse_error& e) {
    // what() reads "[json.exception.parse_error.101] parse error at line 1, column 9: ..."
    std::string what = e.what();
    auto text = what.find("] ");
    return make_error(errc::invalid_input,
                      "filters are not valid JSON: " +
                          (text == std::string::npos ? what : what.substr(text + 2)));
  }
}

bool filter_set::matches(const value& headers) const noexcept {
  if (!headers.is_object()) return false;
  bool matched = false;
  for (const auto& r : state_->rules) {
    if (matched && !r.can_veto()) continue;
    switch (r.evaluate(headers)) {
    case verdict::veto:
      return false;
    case verdict::match:
      matched = true;
      break;
    case verdict::miss:
      break;
    }
  }
  return matched;
}

const value& filter_set::rules() const noexcept {
  return state_->source;
}

} // namespace sy::filter
