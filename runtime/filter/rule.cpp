#include "runtime/filter/rule.hpp"

#include "runtime/filter/karton.hpp"

namespace sy::filter {

expected<rule> rule::compile(const value& object, const std::string& where, string_mode mode) {
  if (!object.is_object())
    return invalid_filter(where, "a rule must be a JSON object of header conditions; got " +
                                     std::string{object.type_name()});
  rule r;
  for (const auto& [key, condition] : object.items()) {
    if (auto added = r.add(key, condition, where, mode); !added) return added.error();
  }
  return r;
}

expected<void> rule::add(const std::string& key, const value& condition, const std::string& where,
                         string_mode mode) {
  if (auto kind = combinator_named(key)) return add_group(key, *kind, condition, where, mode);
  if (is_operator(key))
    return invalid_filter(where, "unknown operator " + quote(key) +
                                     " (a rule's keys are header names and $and, $or, $nor)");
  if (mode == string_mode::karton && condition.is_string()) {
    std::string_view text = condition.get_ref<const std::string&>();
    bool negative = !text.empty() && text.front() == '!';
    auto& checks = negative ? negatives_ : positives_;
    checks.push_back({key, compile_karton_string(negative ? text.substr(1) : text)});
    return {};
  }
  auto compiled = compile_condition(condition, where + ", header " + quote(key));
  if (!compiled) return compiled.error();
  positives_.push_back({key, std::move(*compiled)});
  return {};
}

expected<void> rule::add_group(const std::string& key, combinator kind, const value& rules,
                               const std::string& where, string_mode mode) {
  if (!rules.is_array() || rules.empty())
    return invalid_filter(where, quote(key) + " needs a non-empty list of rules");
  group g{kind, {}};
  for (std::size_t i = 0; i < rules.size(); ++i) {
    auto sub = compile(rules[i], where + ", " + key + "[" + std::to_string(i) + "]", mode);
    if (!sub) return sub.error();
    g.rules.push_back(std::move(*sub));
  }
  groups_.push_back(std::move(g));
  return {};
}

bool rule::check::holds(const value& headers) const noexcept {
  auto i = headers.find(header);
  return condition->holds(i == headers.end() ? nullptr : &*i);
}

bool rule::group::holds(const value& headers) const noexcept {
  return combine(kind, rules, [&](const rule& r) { return r.evaluate(headers) == verdict::match; });
}

bool rule::positives_hold(const value& headers) const noexcept {
  auto holds = [&](const auto& part) { return part.holds(headers); };
  return std::all_of(positives_.begin(), positives_.end(), holds) &&
         std::all_of(groups_.begin(), groups_.end(), holds);
}

verdict rule::evaluate(const value& headers) const noexcept {
  if (!positives_hold(headers)) return verdict::miss;
  bool vetoed = std::any_of(negatives_.begin(), negatives_.end(),
                            [&](const check& c) { return c.holds(headers); });
  return vetoed ? verdict::veto : verdict::match;
}

} // namespace sy::filter
