#define CAF_SUITE runtime.filter
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/filter/filter_set.hpp"
#include "runtime/filter/glob.hpp"

#include <filesystem>
#include <fstream>

using namespace sy;
using sy::filter::filter_set;

namespace {

/// The result of matching `headers` against `filters` (both JSON text):
/// "match", "no match" or "error: <message>".
std::string check(const std::string& filters, const std::string& headers) {
  auto f = filter_set::parse(filters);
  if (!f) return "error: " + f.error().message;
  return f->matches(value::parse(headers)) ? "match" : "no match";
}

bool matches(const std::string& filters, const std::string& headers) {
  return check(filters, headers) == "match";
}

bool is_error(const std::string& filters, const std::string& fragment) {
  auto r = check(filters, "{}");
  bool ok = r.rfind("error: ", 0) == 0 && r.find(fragment) != std::string::npos;
  if (!ok) CAF_MESSAGE("expected an error containing [" << fragment << "], got [" << r << "]");
  return ok;
}

std::string vectors_path() {
  std::string shared = SY_SHARED_DIR "/vectors/filters.json";
  return std::filesystem::exists(shared) ? shared : SY_SOURCE_DIR "/tests/data/filters.json";
}

} // namespace

CAF_TEST(every acceptance vector passes) {
  std::ifstream in{vectors_path()};
  auto cases = value::parse(in);
  CAF_CHECK(cases.is_array() && !cases.empty());
  for (const auto& c : cases) {
    auto f = filter_set::compile(c["filters"]);
    std::string got = !f ? "error" : f->matches(c["headers"]) ? "true" : "false";
    std::string want = c["match"].is_string() ? c["match"].get<std::string>()
                                              : (c["match"].get<bool>() ? "true" : "false");
    if (got != want)
      CAF_MESSAGE("vector " << c["id"] << " (" << c.value("note", "") << "): want " << want
                            << ", got " << got);
    CAF_CHECK_EQUAL(got, want);
  }
}

CAF_TEST(a task matches if one rule matches and none vetoes) {
  CAF_CHECK(!matches("[]", R"({"a": "1"})"));
  CAF_CHECK(matches("[{}]", R"({"a": "1"})"));
  CAF_CHECK(matches("[{}]", "{}"));
  CAF_CHECK(matches(R"([{"a": "1"}, {"b": "2"}])", R"({"b": "2"})"));
  CAF_CHECK(!matches(R"([{"a": "1", "b": "2"}])", R"({"a": "1"})"));
  // A veto from a second rule beats a match of the first.
  CAF_CHECK(!matches(R"([{"a": "1"}, {"a": "1", "b": "!x"}])", R"({"a": "1", "b": "x"})"));
  CAF_CHECK(matches(R"([{"a": "1"}, {"a": "1", "b": "!x"}])", R"({"a": "1", "b": "y"})"));
  CAF_CHECK(!matches("[{}]", "[1, 2]")); // headers must be an object
}

CAF_TEST(string conditions are exact or anchored globs) {
  CAF_CHECK(matches(R"([{"p": "win32"}])", R"({"p": "win32"})"));
  CAF_CHECK(!matches(R"([{"p": "win"}])", R"({"p": "win32"})"));
  CAF_CHECK(matches(R"([{"p": "*32"}])", R"({"p": "win32"})"));
  CAF_CHECK(!matches(R"([{"p": "*32"}])", R"({"p": "win32x"})"));
  CAF_CHECK(matches(R"([{"p": "w[aeiou]n*"}])", R"({"p": "win64"})"));
  CAF_CHECK(!matches(R"([{"p": "w[!i]n*"}])", R"({"p": "win64"})"));
  CAF_CHECK(matches(R"([{"p": "[a-c]x"}])", R"({"p": "bx"})"));
  CAF_CHECK(matches(R"([{"p": "a[b"}])", R"({"p": "a[b"})")); // unterminated class: literal
  CAF_CHECK(matches(R"([{"p": "*"}])", R"({"p": 5})"));       // "*" = present, any type
  CAF_CHECK(!matches(R"([{"p": "*"}])", "{}"));
  CAF_CHECK(matches(R"([{"n": "20"}])", R"({"n": 20})")); // number through its JSON text
  CAF_CHECK(matches(R"([{"b": "true"}])", R"({"b": true})"));
  CAF_CHECK(matches(R"([{"t": "x"}])", R"({"t": ["y", "x"]})")); // list contains
  CAF_CHECK(!matches(R"([{"t": "x*"}])", R"({"t": ["xy"]})"));   // no glob on lists
}

CAF_TEST(globs stay fast on pathological patterns) {
  std::string text(5000, 'a');
  CAF_CHECK(!filter::glob_match("a*a*a*a*a*a*a*a*b", text));
  CAF_CHECK(filter::glob_match("a*a*a*a*a*a*a*a*a", text));
  CAF_CHECK(filter::glob_match("[]]", "]"));
  CAF_CHECK(filter::glob_match("[!]]", "x"));
  CAF_CHECK(!filter::glob_match("?", ""));
}

CAF_TEST(negative checks hold on absent headers and veto on a hit) {
  CAF_CHECK(matches(R"([{"k": "!raw"}])", "{}"));
  CAF_CHECK(!matches(R"([{"k": "!raw"}])", R"({"k": "raw"})"));
  CAF_CHECK(matches(R"([{"k": "!*"}])", "{}"));
  CAF_CHECK(!matches(R"([{"k": "!*"}])", R"({"k": 1})"));
}

CAF_TEST(non string conditions use json equality) {
  CAF_CHECK(matches(R"([{"n": 1}])", R"({"n": 1.0})"));
  CAF_CHECK(!matches(R"([{"n": 1}])", R"({"n": true})"));
  CAF_CHECK(!matches(R"([{"n": 1}])", R"({"n": "1"})"));
  CAF_CHECK(matches(R"([{"n": null}])", R"({"n": null})"));
  CAF_CHECK(matches(R"([{"n": 2}])", R"({"n": [1, 2]})"));
}

CAF_TEST(comparison and membership operators) {
  CAF_CHECK(matches(R"([{"v": {"$gte": 3, "$lt": 5}}])", R"({"v": 3})"));
  CAF_CHECK(!matches(R"([{"v": {"$gte": 3, "$lt": 5}}])", R"({"v": 5})"));
  CAF_CHECK(matches(R"([{"v": {"$lte": "b"}}])", R"({"v": "a"})"));
  CAF_CHECK(!matches(R"([{"v": {"$gt": 1}}])", R"({"v": "2"})"));
  CAF_CHECK(matches(R"([{"v": {"$gt": 1}}])", R"({"v": [0, 2]})")); // any element
  CAF_CHECK(matches(R"([{"v": {"$ne": 1}}])", "{}"));
  CAF_CHECK(!matches(R"([{"v": {"$ne": 1}}])", R"({"v": [1, 2]})"));
  CAF_CHECK(matches(R"([{"v": {"$nin": [1, 2]}}])", "{}"));
  CAF_CHECK(!matches(R"([{"v": {"$in": [1, 2]}}])", "{}"));
  CAF_CHECK(matches(R"([{"v": {"$eq": "a*"}}])", R"({"v": "a*"})"));
  CAF_CHECK(matches(R"([{"t": {"$all": ["a"]}}])", R"({"t": "a"})"));
  CAF_CHECK(!matches(R"([{"t": {"$all": ["a", "b"]}}])", R"({"t": ["a"]})"));
  CAF_CHECK(matches(R"([{"t": {"$size": 2}}])", R"({"t": [1, 2]})"));
  CAF_CHECK(!matches(R"([{"t": {"$size": 2}}])", R"({"t": "ab"})"));
  CAF_CHECK(matches(R"([{"t": {"$exists": true}}])", R"({"t": null})"));
  CAF_CHECK(!matches(R"([{"t": {"$exists": false}}])", R"({"t": null})"));
}

CAF_TEST(regex operator searches unanchored with flags) {
  CAF_CHECK(matches(R"([{"s": {"$regex": "in3"}}])", R"({"s": "win32"})"));
  CAF_CHECK(!matches(R"([{"s": {"$regex": "WIN"}}])", R"({"s": "win32"})"));
  CAF_CHECK(matches(R"([{"s": "/WIN/i"}])", R"({"s": "/WIN/i"})")); // top level: plain text
  CAF_CHECK(matches(R"([{"s": {"$regex": "/WIN/i"}}])", R"({"s": "win32"})"));
  CAF_CHECK(matches(R"([{"s": {"$regex": "WIN", "$options": "i"}}])", R"({"s": "win32"})"));
  CAF_CHECK(matches(R"([{"s": {"$regex": "/^b/m"}}])", "{\"s\": \"a\\nb\"}"));
  CAF_CHECK(!matches(R"([{"s": {"$regex": "/a.b/"}}])", "{\"s\": \"a\\nb\"}"));
  CAF_CHECK(matches(R"([{"s": {"$regex": "/a.b/s"}}])", "{\"s\": \"a\\nb\"}"));
  CAF_CHECK(!matches(R"([{"s": {"$regex": "1"}}])", R"({"s": 1})"));
}

CAF_TEST(logical operators on fields and rules) {
  CAF_CHECK(matches(R"([{"p": {"$or": ["a", {"$gt": 5}]}}])", R"({"p": 7})"));
  CAF_CHECK(!matches(R"([{"p": {"$and": [{"$gt": 1}, {"$lt": 3}]}}])", R"({"p": 3})"));
  CAF_CHECK(matches(R"([{"p": {"$nor": ["a", "b"]}}])", R"({"p": "c"})"));
  CAF_CHECK(matches(R"([{"p": {"$not": {"$gt": 5}}}])", R"({"p": 3})"));
  CAF_CHECK(matches(R"([{"p": {"$not": "a"}}])", R"({"p": "b"})"));
  CAF_CHECK(matches(R"([{"$or": [{"a": "1"}, {"b": "2"}]}])", R"({"b": "2"})"));
  CAF_CHECK(!matches(R"([{"$and": [{"a": "1"}, {"b": "2"}]}])", R"({"b": "2"})"));
  CAF_CHECK(matches(R"([{"$nor": [{"a": "1"}]}])", R"({"b": "2"})"));
  CAF_CHECK(matches(R"([{"$or": [{"a": "x*"}]}])", R"({"a": "xy"})")); // sub-rules keep globs
}

CAF_TEST(elem match applies to list elements) {
  CAF_CHECK(matches(R"([{"v": {"$elemMatch": {"$gt": 2, "$lt": 4}}}])", R"({"v": [1, 3]})"));
  CAF_CHECK(!matches(R"([{"v": {"$elemMatch": {"$gt": 2, "$lt": 3}}}])", R"({"v": [1, 3]})"));
  CAF_CHECK(matches(R"([{"v": {"$elemMatch": {"k": "a*"}}}])", R"({"v": [{"k": "a*"}]})"));
  CAF_CHECK(!matches(R"([{"v": {"$elemMatch": {"k": "a*"}}}])", R"({"v": [{"k": "ab"}]})"));
  CAF_CHECK(!matches(R"([{"v": {"$elemMatch": {"$gt": 0}}}])", R"({"v": 3})"));
}

CAF_TEST(invalid filters are rejected naming the rule and operator) {
  CAF_CHECK(is_error(R"([{"v": {"$gtx": 3}}])",
                     R"(filter rules[0], header "v": unknown operator "$gtx")"));
  CAF_CHECK(
      is_error(R"([{}, {"v": {"$in": 3}}])", R"(filter rules[1], header "v": "$in" needs a list)"));
  CAF_CHECK(is_error(R"([{"v": {"$size": -1}}])", "non-negative integer"));
  CAF_CHECK(is_error(R"([{"v": {"$gt": true}}])", "needs a number or a string"));
  CAF_CHECK(is_error(R"([{"v": {"$exists": 1}}])", "true or false"));
  CAF_CHECK(is_error(R"([{"v": {"$regex": "("}}])", "invalid regular expression"));
  CAF_CHECK(is_error(R"([{"v": {"$regex": "/a/x"}}])", "unknown regex flag"));
  CAF_CHECK(is_error(R"([{"v": {"$options": "i"}}])", "without \"$regex\""));
  CAF_CHECK(is_error(R"([{"v": {"$or": []}}])", "non-empty list"));
  CAF_CHECK(is_error(R"([{"v": {"$gt": 1, "x": 2}}])", "mixed with operators"));
  CAF_CHECK(is_error(R"([{"$where": "1"}])", R"(unknown operator "$where")"));
  CAF_CHECK(is_error(R"([{"$or": [1]}])", "must be an object"));
  CAF_CHECK(is_error(R"(["a"])", "filter rules[0]: a rule must be an object"));
  CAF_CHECK(is_error(R"({"a": "b"})", "must be a list"));
  CAF_CHECK(is_error(R"([{"a": )", "invalid JSON"));
  // Errors inside nested operators are found at compile time too.
  CAF_CHECK(is_error(R"([{"v": {"$not": {"$or": [{"$bad": 1}]}}}])", R"(unknown operator "$bad")"));
}
