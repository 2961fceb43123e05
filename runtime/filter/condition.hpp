#pragma once

#include "runtime/core/expected.hpp"
#include "runtime/core/value.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

/// Internal to runtime/filter: compiled conditions on one header.
namespace sy::filter {

/// A compiled test on one header's value. `h` is the value, or nullptr when
/// the task has no such header. Immutable; evaluating it parses nothing,
/// allocates nothing in the common cases and never throws.
class condition {
public:
  virtual ~condition() = default;
  virtual bool holds(const value* h) const noexcept = 0;
};

using condition_ptr = std::unique_ptr<const condition>;

/// Compiles a condition in operator context (DESIGN §2.5, §2.6): an object
/// of `$`-operators, all of which must hold, or any other value, compared by
/// JSON equality (strings literally: no globs, no `!`). `where` names the
/// place for error messages, e.g. `filter rule 1, header "version"`.
expected<condition_ptr> compile_condition(const value& operand, const std::string& where);

// -- shared by the compilers of runtime/filter --------------------------------

/// How `$and`, `$or` and `$nor` combine their parts.
enum class combinator { all, any, none };

/// The combinator named by `key` (`$and`, `$or`, `$nor`), if any.
std::optional<combinator> combinator_named(std::string_view key);

/// Applies `kind` to `pred` over `parts`.
template <class Range, class Pred>
bool combine(combinator kind, const Range& parts, const Pred& pred) noexcept {
  switch (kind) {
  case combinator::all:
    return std::all_of(parts.begin(), parts.end(), pred);
  case combinator::any:
    return std::any_of(parts.begin(), parts.end(), pred);
  case combinator::none:
    return std::none_of(parts.begin(), parts.end(), pred);
  }
  return false;
}

/// True if `pred` holds for an element of `v`; false if `v` is not a list.
template <class Pred> bool any_element(const value& v, const Pred& pred) noexcept {
  return v.is_array() && std::any_of(v.begin(), v.end(), pred);
}

inline bool is_operator(std::string_view key) {
  return !key.empty() && key.front() == '$';
}

/// An `errc::invalid_input` error reading "<where>: <what>".
error invalid_filter(const std::string& where, const std::string& what);

/// `text` as a JSON string literal for messages: `"a\"b"`.
std::string quote(std::string_view text);

} // namespace sy::filter
