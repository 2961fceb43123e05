#pragma once

#include "runtime/core/expected.hpp"

#include <regex>
#include <string>

namespace sy::filter {

/// The longest string a `$regex` searches; a longer one never matches.
/// std::regex recurses once per character for most patterns and overflows an
/// 8 MiB thread stack near 10 000 characters: a crash of the router. Headers
/// are meant to be short; large data belongs in payloads and resources.
constexpr std::size_t max_regex_subject = 4096;

/// Compiles the operand of `$regex` (DESIGN §2.6) into an ECMAScript regex
/// for an unanchored search. `operand` is a pattern, or `/pattern/flags` when
/// it starts with `/` and only letters follow its last `/`; `options` holds
/// more flags (MongoDB's `$options`). Flags: `i` ignore case, `m` `^`/`$`
/// also at line breaks, `s` `.` also matches line breaks. An unknown flag or
/// a pattern that does not compile is an `errc::invalid_input` error whose
/// message names it (the caller adds where it was found).
expected<std::regex> compile_regex(const std::string& operand, const std::string& options);

} // namespace sy::filter
