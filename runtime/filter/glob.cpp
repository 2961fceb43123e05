#include "runtime/filter/glob.hpp"

#include <algorithm>

namespace sy::filter {

namespace {

/// Decodes the UTF-8 code point at `s[i]` and moves `i` past it. A malformed
/// sequence yields its first byte alone, as U+DC80..U+DCFF (Python's
/// "surrogateescape"), so that any byte string can be matched.
char32_t next_code_point(std::string_view s, std::size_t& i) noexcept {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char lead = byte(i);
  std::size_t len = lead < 0x80             ? 1
                    : (lead & 0xE0) == 0xC0 ? 2
                    : (lead & 0xF0) == 0xE0 ? 3
                    : (lead & 0xF8) == 0xF0 ? 4
                                            : 0;
  auto malformed = [&] {
    ++i;
    return static_cast<char32_t>(0xDC00 + lead);
  };
  if (len == 1) return static_cast<char32_t>(s[i++] & 0x7F);
  if (len == 0 || i + len > s.size()) return malformed();
  char32_t c = lead & (0x7F >> len);
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return malformed();
    c = (c << 6) | (byte(i + k) & 0x3F);
  }
  i += len;
  return c;
}

} // namespace

bool is_glob(std::string_view text) {
  return text.find_first_of("*?[") != std::string_view::npos;
}

glob::glob(std::string_view pattern) {
  std::size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] == '*') {
      ++i;
      if (steps_.empty() || !steps_.back().star) steps_.push_back(step{true, false, {}});
    } else if (pattern[i] == '?') {
      ++i;
      steps_.push_back(step{false, true, {}});
    } else if (pattern[i] == '[') {
      steps_.push_back(parse_set(pattern, i));
    } else {
      char32_t c = next_code_point(pattern, i);
      steps_.push_back(step{false, false, {{c, c}}});
    }
  }
}

/// Parses the set that starts at `pattern[i] == '['` and moves `i` past it.
/// An unterminated `[` is the literal `[` (the rest is parsed on its own).
glob::step glob::parse_set(std::string_view pattern, std::size_t& i) {
  std::size_t k = i + 1;
  step set;
  set.negated = k < pattern.size() && pattern[k] == '!';
  if (set.negated) ++k;
  const std::size_t first = k;
  while (k < pattern.size() && (pattern[k] != ']' || k == first)) {
    char32_t lo = next_code_point(pattern, k);
    char32_t hi = lo;
    if (k + 1 < pattern.size() && pattern[k] == '-' && pattern[k + 1] != ']') {
      ++k;
      hi = next_code_point(pattern, k);
    }
    set.ranges.emplace_back(lo, hi);
  }
  if (k >= pattern.size()) {
    ++i;
    return step{false, false, {{U'[', U'['}}};
  }
  i = k + 1;
  return set;
}

bool glob::step::accepts(char32_t c) const noexcept {
  bool member = std::any_of(ranges.begin(), ranges.end(),
                            [c](const auto& r) { return r.first <= c && c <= r.second; });
  return member != negated;
}

/// Two pointers over steps and text; on a mismatch after a `*`, that star
/// absorbs one more character and matching resumes right after it. Only the
/// last star needs to be remembered, hence no exponential backtracking.
bool glob::matches(std::string_view text) const noexcept {
  constexpr std::size_t no_star = static_cast<std::size_t>(-1);
  std::size_t p = 0, t = 0;
  std::size_t after_star = no_star, resume = 0;
  while (t < text.size()) {
    if (p < steps_.size() && steps_[p].star) {
      after_star = ++p;
      resume = t;
      continue;
    }
    std::size_t next = t;
    char32_t c = next_code_point(text, next);
    if (p < steps_.size() && steps_[p].accepts(c)) {
      ++p;
      t = next;
    } else if (after_star != no_star) {
      next_code_point(text, resume);
      p = after_star;
      t = resume;
    } else {
      return false;
    }
  }
  while (p < steps_.size() && steps_[p].star)
    ++p;
  return p == steps_.size();
}

} // namespace sy::filter
