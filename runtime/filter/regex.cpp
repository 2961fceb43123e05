#include "runtime/filter/regex.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace sy::filter {

namespace {

struct pattern_and_flags {
  std::string pattern;
  std::string flags;
};

/// Splits "/pattern/flags"; any other text is a plain pattern.
pattern_and_flags split_literal(const std::string& operand) {
  if (operand.empty() || operand.front() != '/') return {operand, {}};
  auto last = operand.rfind('/');
  if (last == 0) return {operand, {}};
  auto flags = operand.substr(last + 1);
  bool letters =
      std::all_of(flags.begin(), flags.end(), [](unsigned char c) { return std::isalpha(c) != 0; });
  if (!letters) return {operand, {}};
  return {operand.substr(1, last - 1), flags};
}

/// Emulates the `s` (dotall) flag, which std::regex lacks: every `.` outside
/// a character class becomes `[\s\S]`.
std::string dot_matches_all(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      out += c;
      out += pattern[++i];
      continue;
    }
    if (c == '[')
      in_class = true;
    else if (c == ']')
      in_class = false;
    if (c == '.' && !in_class)
      out += "[\\s\\S]";
    else
      out += c;
  }
  return out;
}

struct regex_flags {
  std::regex::flag_type syntax = std::regex::ECMAScript;
  bool dotall = false; ///< `s`, emulated by dot_matches_all

  /// Adds `letters`; an unknown one is an error that says where it was.
  expected<void> add(std::string_view letters, const std::string& where) {
    for (char f : letters) {
      if (f == 'i')
        syntax |= std::regex::icase;
      else if (f == 'm')
        syntax |= std::regex::multiline;
      else if (f == 's')
        dotall = true;
      else
        return make_error(errc::invalid_input, std::string{"unknown regex flag \""} + f + "\" " +
                                                   where + " (use i, m, s)");
    }
    return {};
  }
};

} // namespace

expected<std::regex> compile_regex(const std::string& operand, const std::string& options) {
  auto [pattern, literal_flags] = split_literal(operand);
  regex_flags flags;
  if (auto ok = flags.add(literal_flags, "after the last \"/\" of \"" + operand + "\""); !ok)
    return ok.error();
  if (auto ok = flags.add(options, "in \"$options\""); !ok) return ok.error();
  try {
    return std::regex{flags.dotall ? dot_matches_all(pattern) : pattern, flags.syntax};
  } catch (const std::regex_error& e) {
    return make_error(errc::invalid_input,
                      "invalid regular expression \"" + operand + "\": " + e.what());
  }
}

} // namespace sy::filter
