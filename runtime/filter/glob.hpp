#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sy::filter {

/// True if `text` contains a glob metacharacter (`*`, `?` or `[`), which
/// makes a top-level string condition a glob (DESIGN §2.3).
bool is_glob(std::string_view text);

/// An fnmatch-style pattern compiled once, matched against a **whole** value
/// (anchored at both ends, DESIGN §2.3). Python `fnmatchcase` syntax, as
/// Karton uses it: `*` any run, `?` one character, `[abc]`, `[a-z]`,
/// `[!abc]`; a `]` right after `[` or `[!` is a member; `^` and `\` are
/// ordinary characters (no escapes: write `[*]`, `[?]`, `[[]`); an
/// unterminated `[` is a literal `[`; a reversed range like `[z-a]` is empty.
/// Case-sensitive; works on UTF-8 code points (a malformed byte counts as one
/// character). Matching is O(pattern × text) at worst (one backtrack point,
/// the last `*`), never exponential, and allocates nothing.
/// Immutable; safe to use from many threads at once.
class glob {
public:
  explicit glob(std::string_view pattern);

  bool matches(std::string_view text) const noexcept;

private:
  /// `*`, or one character from a set: `?` is the negated empty set, a
  /// literal `c` the range [c, c].
  struct step {
    bool star = false;
    bool negated = false;
    std::vector<std::pair<char32_t, char32_t>> ranges;

    bool accepts(char32_t c) const noexcept;
  };

  static step parse_set(std::string_view pattern, std::size_t& i);

  std::vector<step> steps_;
};

} // namespace sy::filter
