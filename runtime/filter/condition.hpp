#pragma once

#include "runtime/core/expected.hpp"
#include "runtime/core/value.hpp"

#include <memory>
#include <string>
#include <vector>

/// Internal to runtime/filter: the compiled form of rules and conditions.
namespace sy::filter {

/// A compiled condition on one header. `h` is the header's value, or
/// nullptr when the task has no such header.
struct condition {
  virtual ~condition() = default;
  virtual bool holds(const value* h) const = 0;
};

using condition_ptr = std::shared_ptr<const condition>;

struct field_check {
  std::string header;
  condition_ptr cond;
};

enum class combinator { all, any, none };

/// A rule: field checks that must all hold, negative checks (Karton's
/// "!pattern": their patterns must not hold; one that does vetoes the task),
/// and top-level `$and/$or/$nor` groups of sub-rules.
struct rule {
  std::vector<field_check> positives;
  std::vector<field_check> negatives;
  struct group {
    combinator kind;
    std::vector<rule> rules;
  };
  std::vector<group> groups;

  bool positives_hold(const value& headers) const;
  /// Positives hold and no negative pattern does.
  bool matches(const value& headers) const;
  /// Has negatives, positives hold, and a negative pattern holds.
  bool vetoes(const value& headers) const;
};

/// Compiles one rule object. `literal`: strings are plain values (inside
/// operators, e.g. `$elemMatch`), not Karton globs and negations. `where`
/// prefixes error messages ("filter rules[0]").
expected<rule> compile_rule(const value& object, const std::string& where, bool literal);

/// Compiles a condition in operator context: an operator object, or any
/// other value compared for equality.
expected<condition_ptr> compile_operand(const value& operand, const std::string& where);

/// Compiles a top-level Karton string condition (no leading `!`).
condition_ptr karton_string(std::string text);

} // namespace sy::filter
