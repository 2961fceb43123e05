#pragma once

#include "runtime/filter/condition.hpp"

#include <string>
#include <vector>

/// Internal to runtime/filter: one compiled rule of a filter.
namespace sy::filter {

/// How a rule reads its string conditions: Karton's globs and `!` negation
/// (a filter's rules and their `$and/$or/$nor` sub-rules), or literal values
/// (a sub-rule inside an operator, i.e. `$elemMatch`).
enum class string_mode { karton, literal };

/// What one rule says about a task.
enum class verdict {
  miss,  ///< a positive check or group fails
  match, ///< everything holds and no negative pattern matches
  veto,  ///< the positive part holds but a negative pattern matches
};

/// A rule (DESIGN §2.2, §2.4): checks on headers that must all hold,
/// Karton's negative checks, and `$and/$or/$nor` groups of sub-rules.
/// Immutable and move-only; evaluating it never throws.
class rule {
public:
  /// Compiles `object`, a JSON object mapping header names (or `$and`,
  /// `$or`, `$nor`) to conditions. `where` prefixes error messages, e.g.
  /// `filter rule 0`.
  static expected<rule> compile(const value& object, const std::string& where, string_mode mode);

  /// `headers` is a JSON object. A sub-rule that would veto simply misses:
  /// only a filter's own rules veto a task.
  verdict evaluate(const value& headers) const noexcept;

  /// False if the rule has no negative checks, so it can never veto.
  bool can_veto() const noexcept { return !negatives_.empty(); }

private:
  struct check {
    std::string header;
    condition_ptr condition;
    bool holds(const value& headers) const noexcept;
  };

  struct group {
    combinator kind;
    std::vector<rule> rules;
    bool holds(const value& headers) const noexcept;
  };

  expected<void> add(const std::string& key, const value& condition, const std::string& where,
                     string_mode mode);
  expected<void> add_group(const std::string& key, combinator kind, const value& rules,
                           const std::string& where, string_mode mode);
  bool positives_hold(const value& headers) const noexcept;

  std::vector<check> positives_;
  std::vector<check> negatives_; ///< the patterns after `!`: one that holds vetoes
  std::vector<group> groups_;
};

} // namespace sy::filter
