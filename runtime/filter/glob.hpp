#pragma once

#include <string>
#include <string_view>

namespace sy::filter {

/// True if `text` contains a glob metacharacter (`*`, `?` or `[`).
bool is_glob(std::string_view text);

/// Matches `text` against the fnmatch-style glob `pattern`, anchored at both
/// ends (DESIGN §2.3): `*` any run, `?` one character, `[abc]`, `[a-z]`,
/// `[!abc]` (also `[^abc]`); a `]` right after `[` or `[!` is literal; an
/// unterminated `[` is a literal `[`; no escape character; case-sensitive;
/// bytes, not code points. Linear in practice: one backtrack point, the last
/// `*`, so no exponential blow-up.
bool glob_match(std::string_view pattern, std::string_view text);

} // namespace sy::filter
