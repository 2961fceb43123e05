#pragma once

#include "runtime/core/expected.hpp"
#include "runtime/core/value.hpp"

#include <memory>
#include <string_view>

namespace sy::filter {

/// A bind's filters compiled once (DESIGN §2; the user reference is
/// docs/FILTERS.md): a list of rules. A task matches if at least one rule
/// matches and no rule vetoes it. Immutable; cheap to copy (copies share the
/// compiled rules); safe to evaluate from many threads at once.
class filter_set {
public:
  /// An empty list of rules: matches nothing.
  filter_set();

  /// Compiles `rules`, which must be a JSON array of objects. A malformed
  /// rule or condition, or an unknown operator, is an `errc::invalid_input`
  /// error naming the rule index, the header and the operator, e.g.
  /// `filter rule 1, header "version": unknown operator "$gtx"`.
  static expected<filter_set> compile(const value& rules);

  /// Parses JSON text, then compiles it; invalid JSON is an
  /// `errc::invalid_input` error naming the line and column.
  static expected<filter_set> parse(std::string_view json_text);

  /// True if at least one rule matches `headers` and no rule vetoes it
  /// (DESIGN §2.1). `headers` is a JSON object; anything else matches
  /// nothing. Never throws.
  bool matches(const value& headers) const noexcept;

  /// The rules as given, for storing in a bind record and for display.
  const value& rules() const noexcept;

private:
  struct compiled;
  explicit filter_set(std::shared_ptr<const compiled> state);

  std::shared_ptr<const compiled> state_;
};

} // namespace sy::filter
