#include "runtime/config/duration.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <limits>

namespace sy::config {

namespace {

struct unit {
  std::string_view name;
  std::int64_t millis;
};

/// In the order they must appear in a combined duration.
constexpr std::array<unit, 5> units{{
    {"d", 86'400'000},
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

/// Splits off the longest prefix of `text` whose characters satisfy `pred`.
template <class Pred> std::string_view take_while(std::string_view& text, Pred pred) {
  size_t n = 0;
  while (n < text.size() && pred(static_cast<unsigned char>(text[n])))
    ++n;
  auto prefix = text.substr(0, n);
  text.remove_prefix(n);
  return prefix;
}

} // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  std::int64_t total = 0;
  size_t next_unit = 0; // units appear in decreasing order, each at most once
  while (!text.empty()) {
    auto digits = take_while(text, [](unsigned char c) { return std::isdigit(c) != 0; });
    auto name = take_while(text, [](unsigned char c) { return std::isalpha(c) != 0; });
    std::int64_t count = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size())
      return std::nullopt;
    size_t i = next_unit;
    while (i < units.size() && units[i].name != name)
      ++i;
    if (i == units.size() || count > (max - total) / units[i].millis) return std::nullopt;
    total += count * units[i].millis;
    next_unit = i + 1;
  }
  return std::chrono::milliseconds{total};
}

std::string format_duration(std::chrono::milliseconds d) {
  auto rest = d.count();
  std::string out;
  for (const auto& u : units) {
    if (rest >= u.millis) {
      out += std::to_string(rest / u.millis);
      out += u.name;
      rest %= u.millis;
    }
  }
  return out.empty() ? "0s" : out;
}

} // namespace sy::config
