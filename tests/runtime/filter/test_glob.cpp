#define CAF_SUITE runtime.filter.glob
#include "caf/test/unit_test.hpp"
#include "runtime/filter/glob.hpp"
#include "runtime/filter/regex.hpp"

#include <string>

using sy::filter::compile_regex;
using sy::filter::glob;
using sy::filter::is_glob;

namespace {

bool globs(std::string_view pattern, std::string_view text) {
  return glob{pattern}.matches(text);
}

/// True if `text` contains a match of `operand` compiled with `options`.
bool searches(const std::string& operand, const std::string& options, const std::string& text) {
  auto re = compile_regex(operand, options);
  if (!re) CAF_MESSAGE("regex " << operand << ": " << re.error().message);
  return re && std::regex_search(text, *re);
}

std::string regex_error(const std::string& operand, const std::string& options = {}) {
  auto re = compile_regex(operand, options);
  return re ? "compiled" : re.error().message;
}

} // namespace

CAF_TEST(glob characters are star question mark and bracket) {
  CAF_CHECK(is_glob("a*"));
  CAF_CHECK(is_glob("a?"));
  CAF_CHECK(is_glob("a[b"));
  CAF_CHECK(!is_glob("a]b!^\\"));
  CAF_CHECK(!is_glob(""));
}

CAF_TEST(globs match the whole text) {
  CAF_CHECK(globs("*", ""));
  CAF_CHECK(globs("*", "anything"));
  CAF_CHECK(globs("win*", "win"));
  CAF_CHECK(globs("win*", "win32"));
  CAF_CHECK(!globs("win*", "xwin32"));
  CAF_CHECK(globs("*32", "win32"));
  CAF_CHECK(!globs("*32", "win32x"));
  CAF_CHECK(globs("*in*", "win32"));
  CAF_CHECK(globs("a**b", "ab"));
  CAF_CHECK(globs("ba?", "bar"));
  CAF_CHECK(!globs("ba?", "ba"));
  CAF_CHECK(!globs("ba?", "barz"));
  CAF_CHECK(!globs("?", ""));
  CAF_CHECK(globs("", ""));
  CAF_CHECK(!globs("", "a"));
  CAF_CHECK(!globs("Win*", "win32")); // case-sensitive
  CAF_CHECK(globs("*/*", "dir/file"));
  CAF_CHECK(globs("*.exe", ".exe")); // no special leading dot
}

CAF_TEST(character classes) {
  CAF_CHECK(globs("[abc]", "b"));
  CAF_CHECK(!globs("[abc]", "d"));
  CAF_CHECK(!globs("[abc]", "ab"));
  CAF_CHECK(globs("[a-z]1", "q1"));
  CAF_CHECK(!globs("[a-z]1", "Q1"));
  CAF_CHECK(globs("[a-cx-z]", "y"));
  CAF_CHECK(globs("[!abc]", "d"));
  CAF_CHECK(!globs("[!abc]", "a"));
  CAF_CHECK(!globs("[!abc]", ""));
  CAF_CHECK(!globs("[!a-z]", "m"));
  CAF_CHECK(globs("[]]", "]"));  // ']' first is a member
  CAF_CHECK(globs("[!]]", "x")); // also after '!'
  CAF_CHECK(!globs("[!]]", "]"));
  CAF_CHECK(globs("[]a]", "a"));
  CAF_CHECK(globs("[a-]", "-"));   // '-' last is a member
  CAF_CHECK(globs("[-a]", "-"));   // '-' first too
  CAF_CHECK(!globs("[z-a]", "m")); // reversed range: empty
  CAF_CHECK(globs("[*?[]", "*"));  // metacharacters are plain inside a class
  CAF_CHECK(globs("[*?[]x", "[x"));
  CAF_CHECK(globs("a[*]", "a*"));
  CAF_CHECK(!globs("a[*]", "ab"));
}

CAF_TEST(caret and backslash are ordinary characters) {
  CAF_CHECK(globs("[^a]", "^")); // Python fnmatch: only '!' negates
  CAF_CHECK(globs("[^a]", "a"));
  CAF_CHECK(!globs("[^a]", "b"));
  CAF_CHECK(globs("a\\*", "a\\")); // '\' does not escape '*'
  CAF_CHECK(globs("a\\*", "a\\bc"));
  CAF_CHECK(!globs("a\\*", "a*"));
  CAF_CHECK(globs("[\\]", "\\"));
}

CAF_TEST(an unterminated bracket is a literal bracket) {
  CAF_CHECK(globs("a[b", "a[b"));
  CAF_CHECK(!globs("a[b", "ab"));
  CAF_CHECK(globs("[", "["));
  CAF_CHECK(globs("[!", "[!"));
  CAF_CHECK(globs("[!]", "[!]"));
  CAF_CHECK(globs("[]", "[]"));
  CAF_CHECK(globs("x[*", "x[yz")); // the rest still globs
}

CAF_TEST(globs work on utf8 code points) {
  CAF_CHECK(globs("caf?", "café"));
  CAF_CHECK(!globs("caf??", "café"));
  CAF_CHECK(globs("[é]", "é"));
  CAF_CHECK(globs("[à-ü]", "é"));
  CAF_CHECK(globs("[!é]x", "ex"));
  CAF_CHECK(globs("*é*", "déjà"));
  CAF_CHECK(!globs("*[!é]", "é")); // a star gives back whole characters
  // A malformed byte counts as one character and equals itself.
  CAF_CHECK(globs("a?b", "a\xff"
                         "b"));
  CAF_CHECK(globs("a\xff*", "a\xff"
                            "b"));
  CAF_CHECK(!globs("a\xfe*", "a\xff"
                             "b"));
  CAF_CHECK(globs("?", "\xc3")); // truncated sequence
}

CAF_TEST(pathological globs finish fast) {
  std::string as(20000, 'a');
  CAF_CHECK(!globs("a*a*a*a*a*a*a*a*a*a*b", as));
  CAF_CHECK(globs("a*a*a*a*a*a*a*a*a*a*a", as));
  CAF_CHECK(globs("*a*a*a*a*a*a*a*a*a*a", as));
  CAF_CHECK(!globs("*?*?*?*?*?*b", as));
  std::string text = as + "b";
  CAF_CHECK(globs("a*a*a*a*a*a*a*a*a*a*b", text));
}

CAF_TEST(regex operands may carry flags between slashes) {
  CAF_CHECK(searches("win", "", "xwin32"));
  CAF_CHECK(!searches("WIN", "", "win32"));
  CAF_CHECK(searches("/WIN/i", "", "win32"));
  CAF_CHECK(searches("WIN", "i", "win32"));
  CAF_CHECK(searches("/W/", "i", "win32"));     // literal flags and $options add up
  CAF_CHECK(searches("//", "", "anything"));    // the empty pattern
  CAF_CHECK(searches("/usr/.+", "", "/usr/x")); // not a literal: plain pattern
  CAF_CHECK(searches("^/$", "", "/"));
  CAF_CHECK(searches("/", "", "a/b"));
}

CAF_TEST(the s flag lets dots match line breaks outside classes) {
  CAF_CHECK(!searches("a.b", "", "a\nb"));
  CAF_CHECK(searches("a.b", "s", "a\nb"));
  CAF_CHECK(!searches("/a.b/s", "", "a\r\nb")); // one dot, two characters
  CAF_CHECK(searches("/a..b/s", "", "a\r\nb"));
  CAF_CHECK(!searches("a[.]b", "s", "a\nb")); // a dot in a class stays a dot
  CAF_CHECK(searches("a[.]b", "s", "a.b"));
  CAF_CHECK(!searches("a\\.b", "s", "a\nb")); // an escaped dot stays a dot
  CAF_CHECK(!searches("a[\\].]b", "s", "a\nb"));
  CAF_CHECK(searches("a[\\].]b.c", "s", "a]b\nc"));
}

CAF_TEST(the m flag anchors at line breaks) {
  CAF_CHECK(!searches("^b$", "", "a\nb\nc"));
  CAF_CHECK(searches("^b$", "m", "a\nb\nc"));
}

CAF_TEST(bad regexes and flags are errors naming them) {
  CAF_CHECK_EQUAL(regex_error("/a/x"),
                  R"(unknown regex flag "x" after the last "/" of "/a/x" (use i, m, s))");
  CAF_CHECK_EQUAL(regex_error("/usr/bin"),
                  R"(unknown regex flag "b" after the last "/" of "/usr/bin" (use i, m, s))");
  CAF_CHECK_EQUAL(regex_error("a", "g"), R"(unknown regex flag "g" in "$options" (use i, m, s))");
  CAF_CHECK(regex_error("(a").rfind(R"(invalid regular expression "(a": )", 0) == 0);
  CAF_CHECK(regex_error("/(a/i").rfind(R"(invalid regular expression "/(a/i": )", 0) == 0);
  CAF_CHECK(regex_error("a{2,1}") != "compiled");
  CAF_CHECK_EQUAL(regex_error("/a/ims"), "compiled");
}
