#pragma once

#include "runtime/core/expected.hpp"
#include "runtime/core/value.hpp"

#include <memory>
#include <string_view>

namespace sy::filter {

struct rule;

/// A bind's filters compiled once (DESIGN §2, docs/FILTERS.md): a list of
/// rules. A task matches if at least one rule matches and no rule vetoes it.
/// Immutable; cheap to copy (the compiled rules are shared); safe to
/// evaluate from many threads at once.
class filter_set {
public:
  /// Compiles `rules`, a JSON array of objects. A malformed rule or
  /// condition, or an unknown operator, is an `errc::invalid_input` error
  /// naming the rule, the header and the operator, e.g. `filter rules[1],
  /// header "version": unknown operator "$gtx"`.
  static expected<filter_set> compile(const value& rules);

  /// Parses JSON text, then compiles it; invalid JSON is an error naming
  /// the byte position.
  static expected<filter_set> parse(std::string_view json_text);

  /// True if `headers` (a JSON object; anything else matches nothing)
  /// satisfies the filters. Never throws.
  bool matches(const value& headers) const;

  /// The rules as given, for bind records and display.
  const value& rules() const { return *source_; }

private:
  std::shared_ptr<const std::vector<rule>> rules_;
  std::shared_ptr<const value> source_;
};

} // namespace sy::filter
