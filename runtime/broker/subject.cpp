#include "runtime/broker/subject.hpp"

namespace sy::broker {

namespace {

/// Next token of `s` from `pos`; advances `pos` past the dot (npos at the end).
std::string_view next_token(std::string_view s, std::size_t& pos) {
  auto dot = s.find('.', pos);
  auto token = s.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
  pos = dot == std::string_view::npos ? std::string_view::npos : dot + 1;
  return token;
}

} // namespace

bool subject_covers(std::string_view pattern, std::string_view subject) {
  std::size_t p = 0;
  std::size_t s = 0;
  while (p != std::string_view::npos && s != std::string_view::npos) {
    auto pt = next_token(pattern, p);
    auto st = next_token(subject, s);
    if (pt == ">") return true; // `>` needs at least one token, and `st` is one
    if (st == ">") return false;
    if (pt != "*" && pt != st) return false;
  }
  return p == std::string_view::npos && s == std::string_view::npos;
}

} // namespace sy::broker
