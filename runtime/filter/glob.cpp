#include "runtime/filter/glob.hpp"

namespace sy::filter {

bool is_glob(std::string_view text) {
  return text.find_first_of("*?[") != std::string_view::npos;
}

namespace {

/// Matches the class starting at `pattern[p] == '['` against `c`. Sets `end`
/// to the index after the class; returns false with `end == p` if the class
/// is unterminated (then `[` is literal).
bool match_class(std::string_view pattern, size_t p, char c, size_t& end) {
  size_t i = p + 1;
  bool negate = i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^');
  if (negate) ++i;
  size_t first = i;
  bool hit = false;
  while (i < pattern.size() && (pattern[i] != ']' || i == first)) {
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      auto lo = static_cast<unsigned char>(pattern[i]);
      auto hi = static_cast<unsigned char>(pattern[i + 2]);
      auto u = static_cast<unsigned char>(c);
      hit = hit || (lo <= u && u <= hi);
      i += 3;
    } else {
      hit = hit || pattern[i] == c;
      ++i;
    }
  }
  if (i >= pattern.size()) {
    end = p;
    return false;
  }
  end = i + 1;
  return hit != negate;
}

/// Matches one pattern element at `p` against `c`; sets `next` to the index
/// after the element. `*` is handled by the caller.
bool match_one(std::string_view pattern, size_t p, char c, size_t& next) {
  if (pattern[p] == '?') {
    next = p + 1;
    return true;
  }
  if (pattern[p] == '[') {
    size_t end = p;
    bool hit = match_class(pattern, p, c, end);
    if (end != p) {
      next = end;
      return hit;
    }
  }
  next = p + 1;
  return pattern[p] == c;
}

} // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    size_t next = 0;
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && match_one(pattern, p, text[t], next)) {
      p = next;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

} // namespace sy::filter
