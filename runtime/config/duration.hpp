#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sy::config {

/// Parses a duration written with units, as in configuration files:
/// "250ms", "30s", "10m", "72h", "7d", or a combination in decreasing unit
/// order without repeats ("1h30m", "1m30s500ms"). Units: d, h, m, s, ms.
/// Returns nothing for anything else: empty text, a sign, a fraction, spaces,
/// a missing or unknown unit, or a value past about 290 million years.
/// Plugins use it for their own duration keys.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Formats `d` (>= 0) in the shortest form `parse_duration` reads back:
/// 90 minutes → "1h30m", 0 → "0s", 1500 ms → "1s500ms".
std::string format_duration(std::chrono::milliseconds d);

} // namespace sy::config
