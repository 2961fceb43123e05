#define CAF_SUITE runtime.filter
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/filter/filter_set.hpp"
#include "runtime/filter/regex.hpp"

#include <filesystem>
#include <fstream>

using namespace sy;
using sy::filter::filter_set;

namespace {

/// Matches `headers` against `filters` (both JSON text): "match", "no match"
/// or "error: <message>".
std::string check(const std::string& filters, const value& headers) {
  auto f = filter_set::parse(filters);
  if (!f) return "error: " + f.error().message;
  return f->matches(headers) ? "match" : "no match";
}

bool matches(const std::string& filters, const std::string& headers) {
  return check(filters, value::parse(headers)) == "match";
}

/// True if `filters` is rejected with an invalid_input error containing
/// `fragment`; says what it got otherwise.
bool is_error(const std::string& filters, const std::string& fragment) {
  auto f = filter_set::parse(filters);
  bool ok = !f && f.error().code == errc::invalid_input &&
            f.error().message.find(fragment) != std::string::npos;
  if (!ok)
    CAF_MESSAGE("filters " << filters << ": expected an error containing [" << fragment
                           << "], got [" << (f ? "compiled" : f.error().message) << "]");
  return ok;
}

std::string vectors_path() {
  std::string shared = SY_SHARED_DIR "/vectors/filters.json";
  return std::filesystem::exists(shared) ? shared : SY_SOURCE_DIR "/tests/data/filters.json";
}

std::string outcome(const value& filters, const value& headers) {
  auto f = filter_set::compile(filters);
  return !f ? "error" : f->matches(headers) ? "true" : "false";
}

} // namespace

CAF_TEST(every acceptance vector passes) {
  std::ifstream in{vectors_path()};
  auto cases = value::parse(in, nullptr, false);
  CAF_REQUIRE(cases.is_array() && !cases.empty());
  CAF_MESSAGE(cases.size() << " vectors from " << vectors_path());
  for (const auto& c : cases) {
    auto want = c["match"].is_string() ? c["match"].get<std::string>() : c["match"].dump();
    auto got = outcome(c["filters"], c["headers"]);
    if (got != want)
      CAF_MESSAGE("vector " << c["id"] << " (" << c.value("note", "") << "): want " << want
                            << ", got " << got);
    CAF_CHECK_EQUAL(got, want);
  }
}

// -- DESIGN §2.1 and §2.2: rules ----------------------------------------------

CAF_TEST(a task matches if one rule matches and none vetoes) {
  CAF_CHECK(matches(R"([{"a": "1"}, {"b": "2"}])", R"({"b": "2"})"));
  CAF_CHECK(!matches(R"([{"a": "1"}, {"b": "2"}])", R"({"c": "3"})"));
  // A veto from a later rule beats the match of an earlier one, and the reverse.
  CAF_CHECK(!matches(R"([{"a": "1"}, {"a": "1", "b": "!x"}])", R"({"a": "1", "b": "x"})"));
  CAF_CHECK(!matches(R"([{"a": "1", "b": "!x"}, {"a": "1"}])", R"({"a": "1", "b": "x"})"));
  CAF_CHECK(matches(R"([{"a": "1"}, {"a": "1", "b": "!x"}])", R"({"a": "1", "b": "y"})"));
}

CAF_TEST(a rule matches if every condition holds) {
  CAF_CHECK(matches(R"([{"a": "1", "b": "2"}])", R"({"a": "1", "b": "2", "c": "3"})"));
  CAF_CHECK(!matches(R"([{"a": "1", "b": "2"}])", R"({"a": "1"})"));
  CAF_CHECK(!matches("[]", R"({"a": "1"})"));
  CAF_CHECK(!matches("[]", "{}"));
  CAF_CHECK(matches("[{}]", R"({"a": "1"})"));
  CAF_CHECK(matches("[{}]", "{}"));
}

CAF_TEST(headers that are not an object match nothing) {
  auto all = filter_set::parse("[{}]");
  CAF_REQUIRE(all);
  CAF_CHECK(!all->matches(value::parse("[1, 2]")));
  CAF_CHECK(!all->matches(value{}));
  CAF_CHECK(!all->matches(value("type")));
}

// -- DESIGN §2.3: string conditions -------------------------------------------

CAF_TEST(a string without glob characters is exact equality) {
  CAF_CHECK(matches(R"([{"p": "win32"}])", R"({"p": "win32"})"));
  CAF_CHECK(!matches(R"([{"p": "win"}])", R"({"p": "win32"})"));
  CAF_CHECK(!matches(R"([{"p": "win32"}])", R"({"p": "WIN32"})"));
  CAF_CHECK(!matches(R"([{"p": "win32"}])", "{}"));
  CAF_CHECK(!matches(R"([{"p": "win32"}])", R"({"p": {"x": "win32"}})"));
}

CAF_TEST(a string with glob characters is an anchored glob) {
  CAF_CHECK(matches(R"([{"p": "*32"}])", R"({"p": "win32"})"));
  CAF_CHECK(!matches(R"([{"p": "*32"}])", R"({"p": "win32x"})"));
  CAF_CHECK(!matches(R"([{"p": "in*"}])", R"({"p": "win32"})"));
  CAF_CHECK(matches(R"([{"p": "w?n*"}])", R"({"p": "win64"})"));
  CAF_CHECK(matches(R"([{"p": "w[aeiou]n*"}])", R"({"p": "win64"})"));
  CAF_CHECK(!matches(R"([{"p": "w[!i]n*"}])", R"({"p": "win64"})"));
  CAF_CHECK(matches(R"([{"p": "[a-c]x"}])", R"({"p": "bx"})"));
  CAF_CHECK(matches(R"([{"p": "a[b"}])", R"({"p": "a[b"})")); // unterminated class: literal
}

CAF_TEST(star alone means present and bang star means absent) {
  CAF_CHECK(matches(R"([{"p": "*"}])", R"({"p": 5})"));
  CAF_CHECK(matches(R"([{"p": "*"}])", R"({"p": null})"));
  CAF_CHECK(matches(R"([{"p": "*"}])", R"({"p": ""})"));
  CAF_CHECK(matches(R"([{"p": "*"}])", R"({"p": [1]})"));
  CAF_CHECK(!matches(R"([{"p": "*"}])", "{}"));
  CAF_CHECK(matches(R"([{"p": "!*"}])", "{}"));
  CAF_CHECK(!matches(R"([{"p": "!*"}])", R"({"p": null})"));
  CAF_CHECK(!matches(R"([{"p": "!*"}])", R"({"p": 0})"));
}

CAF_TEST(a non string scalar header is compared through its json text) {
  CAF_CHECK(matches(R"([{"n": "20"}])", R"({"n": 20})"));
  CAF_CHECK(matches(R"([{"n": "-3"}])", R"({"n": -3})"));
  CAF_CHECK(matches(R"([{"n": "1.5"}])", R"({"n": 1.5})"));
  CAF_CHECK(matches(R"([{"n": "20.0"}])", R"({"n": 20.0})"));
  CAF_CHECK(!matches(R"([{"n": "20"}])", R"({"n": 20.0})")); // 20.0 prints as "20.0"
  CAF_CHECK(!matches(R"([{"n": "20.0"}])", R"({"n": 20})"));
  CAF_CHECK(!matches(R"([{"n": "1e2"}])", R"({"n": 100.0})")); // prints as "100.0"
  CAF_CHECK(!matches(R"([{"n": "0.0"}])", R"({"n": -0.0})"));
  CAF_CHECK(matches(R"([{"b": "true"}])", R"({"b": true})"));
  CAF_CHECK(!matches(R"([{"b": "1"}])", R"({"b": true})"));
  CAF_CHECK(matches(R"([{"z": "null"}])", R"({"z": null})"));
  CAF_CHECK(!matches(R"([{"n": " 20"}])", R"({"n": 20})"));
  // A glob never matches a non-string header.
  CAF_CHECK(!matches(R"([{"n": "2*"}])", R"({"n": 20})"));
  CAF_CHECK(!matches(R"([{"b": "tru?"}])", R"({"b": true})"));
}

CAF_TEST(a binary header never equals a string condition) {
  auto f = filter_set::parse(R"([{"blob": "AQI="}, {"blob": "*", "kind": "bin"}])");
  CAF_REQUIRE(f);
  value headers = {{"blob", value::binary({1, 2})}};
  CAF_CHECK(!f->matches(headers));
  headers["kind"] = "bin";
  CAF_CHECK(f->matches(headers)); // "*" only asks for presence
  auto glob = filter_set::parse(R"([{"blob": "*?*"}])");
  CAF_REQUIRE(glob);
  CAF_CHECK(!glob->matches(value{{"blob", value::binary({'a'})}}));
}

CAF_TEST(a list header contains a scalar equality condition) {
  CAF_CHECK(matches(R"([{"t": "x"}])", R"({"t": ["y", "x"]})"));
  CAF_CHECK(!matches(R"([{"t": "x"}])", R"({"t": ["y"]})"));
  CAF_CHECK(!matches(R"([{"t": "x"}])", R"({"t": []})"));
  CAF_CHECK(!matches(R"([{"t": "x*"}])", R"({"t": ["xy"]})")); // no glob on elements
  CAF_CHECK(!matches(R"([{"t": "1"}])", R"({"t": [1]})"));     // no coercion
  CAF_CHECK(matches(R"([{"t": 1}])", R"({"t": [2, 1]})"));
  CAF_CHECK(!matches(R"([{"t": "x"}])", R"({"t": [["x"]]})")); // one level only
}

// -- DESIGN §2.4: negation and vetoes ------------------------------------------

CAF_TEST(a negative check holds on an absent header or a non matching value) {
  CAF_CHECK(matches(R"([{"k": "!raw"}])", "{}"));
  CAF_CHECK(matches(R"([{"k": "!raw"}])", R"({"k": "exe"})"));
  CAF_CHECK(!matches(R"([{"k": "!raw"}])", R"({"k": "raw"})"));
  CAF_CHECK(!matches(R"([{"k": "!r*"}])", R"({"k": "raw"})"));
  CAF_CHECK(matches(R"([{"k": "!r*"}])", R"({"k": "xr"})"));
  CAF_CHECK(!matches(R"([{"k": "!20"}])", R"({"k": 20})"));
  CAF_CHECK(!matches(R"([{"k": "!x"}])", R"({"k": ["x", "y"]})"));
}

CAF_TEST(a rule vetoes when its positives hold and any negative pattern matches) {
  const std::string filters = R"([{"type": "sample"}, {"type": "sample", "a": "!1", "b": "!2"}])";
  CAF_CHECK(matches(filters, R"({"type": "sample"})"));
  CAF_CHECK(!matches(filters, R"({"type": "sample", "a": "1"})"));
  CAF_CHECK(!matches(filters, R"({"type": "sample", "b": "2"})"));
  // Positives fail: no veto, and the first rule still matches.
  const std::string other = R"([{"kind": "raw"}, {"type": "other", "kind": "!raw"}])";
  CAF_CHECK(matches(other, R"({"type": "sample", "kind": "raw"})"));
  CAF_CHECK(!matches(other, R"({"type": "other", "kind": "raw"})"));
}

CAF_TEST(a lone bang and a double bang are literal texts) {
  CAF_CHECK(matches(R"([{"k": "!"}])", R"({"k": "raw"})"));
  CAF_CHECK(!matches(R"([{"k": "!"}])", R"({"k": ""})"));
  CAF_CHECK(!matches(R"([{"k": "!!x"}])", R"({"k": "!x"})"));
  CAF_CHECK(matches(R"([{"k": "!!x"}])", R"({"k": "x"})"));
  CAF_CHECK(matches(R"([{"k": {"$eq": "!x"}}])", R"({"k": "!x"})"));
}

CAF_TEST(a negative check in a sub rule only fails that sub rule) {
  const std::string filters = R"([{"$or": [{"k": "!raw"}, {"t": "x"}]}])";
  CAF_CHECK(matches(filters, R"({"k": "exe"})"));
  CAF_CHECK(!matches(filters, R"({"k": "raw"})"));
  CAF_CHECK(matches(filters, R"({"k": "raw", "t": "x"})")); // no veto from inside $or
}

// -- DESIGN §2.5: non-string conditions ----------------------------------------

CAF_TEST(non string conditions compare by json equality) {
  CAF_CHECK(matches(R"([{"n": 1}])", R"({"n": 1.0})"));
  CAF_CHECK(matches(R"([{"n": -2}])", R"({"n": -2})"));
  CAF_CHECK(!matches(R"([{"n": 1}])", R"({"n": true})"));
  CAF_CHECK(!matches(R"([{"n": true}])", R"({"n": 1})"));
  CAF_CHECK(!matches(R"([{"n": 1}])", R"({"n": "1"})"));
  CAF_CHECK(matches(R"([{"n": null}])", R"({"n": null})"));
  CAF_CHECK(!matches(R"([{"n": null}])", "{}"));
  CAF_CHECK(matches(R"([{"o": {"a": [1, "*"]}}])", R"({"o": {"a": [1, "*"]}})"));
  CAF_CHECK(!matches(R"([{"o": {"a": 1}}])", R"({"o": {"a": 1, "b": 2}})"));
  CAF_CHECK(matches(R"([{"l": [1, 2]}])", R"({"l": [1, 2]})"));
  CAF_CHECK(!matches(R"([{"l": [1, 2]}])", R"({"l": [2, 1]})"));
}

// -- DESIGN §2.6: operators ----------------------------------------------------

CAF_TEST(eq and ne compare literally) {
  CAF_CHECK(matches(R"([{"v": {"$eq": "a*"}}])", R"({"v": "a*"})"));
  CAF_CHECK(!matches(R"([{"v": {"$eq": "a*"}}])", R"({"v": "ab"})"));
  CAF_CHECK(matches(R"([{"v": {"$eq": {"$gt": 1}}}])", R"({"v": {"$gt": 1}})"));
  CAF_CHECK(matches(R"([{"v": {"$eq": 2}}])", R"({"v": [1, 2]})"));
  CAF_CHECK(matches(R"([{"v": {"$eq": [1, 2]}}])", R"({"v": [1, 2]})"));
  CAF_CHECK(!matches(R"([{"v": {"$eq": 1}}])", "{}"));
  CAF_CHECK(matches(R"([{"v": {"$ne": 1}}])", R"({"v": 2})"));
  CAF_CHECK(matches(R"([{"v": {"$ne": 1}}])", "{}"));
  CAF_CHECK(!matches(R"([{"v": {"$ne": 1}}])", R"({"v": [1, 2]})"));
  CAF_CHECK(matches(R"([{"v": {"$ne": "1"}}])", R"({"v": 1})"));
}

CAF_TEST(ordering compares numbers with numbers and strings with strings) {
  CAF_CHECK(matches(R"([{"v": {"$gt": 3}}])", R"({"v": 3.5})"));
  CAF_CHECK(!matches(R"([{"v": {"$gt": 3}}])", R"({"v": 3})"));
  CAF_CHECK(matches(R"([{"v": {"$gte": 3}}])", R"({"v": 3})"));
  CAF_CHECK(matches(R"([{"v": {"$lt": 0}}])", R"({"v": -1})"));
  CAF_CHECK(!matches(R"([{"v": {"$lt": 0}}])", R"({"v": 0})"));
  CAF_CHECK(matches(R"([{"v": {"$lte": 0}}])", R"({"v": 0.0})"));
  CAF_CHECK(matches(R"([{"v": {"$gte": 3, "$lt": 5}}])", R"({"v": 4})"));
  CAF_CHECK(!matches(R"([{"v": {"$gte": 3, "$lt": 5}}])", R"({"v": 5})"));
  CAF_CHECK(matches(R"([{"v": {"$gt": "abc"}}])", R"({"v": "abd"})"));
  CAF_CHECK(matches(R"([{"v": {"$lt": "b"}}])", R"({"v": "B"})")); // bytewise
  CAF_CHECK(!matches(R"([{"v": {"$gt": 1}}])", R"({"v": "2"})"));
  CAF_CHECK(!matches(R"([{"v": {"$lt": "z"}}])", R"({"v": 1})"));
  CAF_CHECK(!matches(R"([{"v": {"$gt": 0}}])", R"({"v": true})"));
  CAF_CHECK(!matches(R"([{"v": {"$gt": 0}}])", "{}"));
  CAF_CHECK(matches(R"([{"v": {"$gt": 1}}])", R"({"v": [0, 2]})")); // any element
  CAF_CHECK(!matches(R"([{"v": {"$gt": 5}}])", R"({"v": [0, 2]})"));
}

CAF_TEST(in and nin test membership in a list) {
  CAF_CHECK(matches(R"([{"v": {"$in": [1, "a"]}}])", R"({"v": "a"})"));
  CAF_CHECK(matches(R"([{"v": {"$in": [1, "a"]}}])", R"({"v": 1.0})"));
  CAF_CHECK(!matches(R"([{"v": {"$in": ["a*"]}}])", R"({"v": "ab"})"));
  CAF_CHECK(!matches(R"([{"v": {"$in": [1, 2]}}])", "{}"));
  CAF_CHECK(!matches(R"([{"v": {"$in": []}}])", R"({"v": 1})"));
  CAF_CHECK(matches(R"([{"v": {"$in": [3, 4]}}])", R"({"v": [1, 4]})"));
  CAF_CHECK(matches(R"([{"v": {"$nin": [1, 2]}}])", R"({"v": 3})"));
  CAF_CHECK(matches(R"([{"v": {"$nin": [1, 2]}}])", "{}"));
  CAF_CHECK(!matches(R"([{"v": {"$nin": [1, 2]}}])", R"({"v": [3, 2]})"));
  CAF_CHECK(matches(R"([{"v": {"$nin": []}}])", R"({"v": 1})"));
}

CAF_TEST(all needs every value and size counts list elements) {
  CAF_CHECK(matches(R"([{"t": {"$all": ["a", "b"]}}])", R"({"t": ["b", "c", "a"]})"));
  CAF_CHECK(!matches(R"([{"t": {"$all": ["a", "b"]}}])", R"({"t": ["a"]})"));
  CAF_CHECK(matches(R"([{"t": {"$all": ["a"]}}])", R"({"t": "a"})"));
  CAF_CHECK(matches(R"([{"t": {"$all": [[1, 2]]}}])", R"({"t": [1, 2]})"));
  CAF_CHECK(!matches(R"([{"t": {"$all": ["a"]}}])", "{}"));
  CAF_CHECK(matches(R"([{"t": {"$size": 2}}])", R"({"t": [1, [2, 3]]})"));
  CAF_CHECK(matches(R"([{"t": {"$size": 0}}])", R"({"t": []})"));
  CAF_CHECK(!matches(R"([{"t": {"$size": 2}}])", R"({"t": "ab"})"));
  CAF_CHECK(!matches(R"([{"t": {"$size": 1}}])", R"({"t": [[1, 2], [3]]})")); // whole list only
  CAF_CHECK(!matches(R"([{"t": {"$size": 0}}])", "{}"));
}

CAF_TEST(exists asks whether the header is present) {
  CAF_CHECK(matches(R"([{"t": {"$exists": true}}])", R"({"t": null})"));
  CAF_CHECK(!matches(R"([{"t": {"$exists": true}}])", "{}"));
  CAF_CHECK(matches(R"([{"t": {"$exists": false}}])", "{}"));
  CAF_CHECK(!matches(R"([{"t": {"$exists": false}}])", R"({"t": null})"));
}

CAF_TEST(regex is an unanchored ecmascript search) {
  CAF_CHECK(matches(R"([{"s": {"$regex": "in3"}}])", R"({"s": "win32"})"));
  CAF_CHECK(!matches(R"([{"s": {"$regex": "^in"}}])", R"({"s": "win32"})"));
  CAF_CHECK(!matches(R"([{"s": {"$regex": "WIN"}}])", R"({"s": "win32"})"));
  CAF_CHECK(matches(R"([{"s": {"$regex": "\\d+$"}}])", R"({"s": "win32"})"));
  CAF_CHECK(matches(R"([{"s": {"$regex": "b"}}])", R"({"s": ["a", "abc"]})"));
  CAF_CHECK(!matches(R"([{"s": {"$regex": "1"}}])", R"({"s": 1})"));
  CAF_CHECK(!matches(R"([{"s": {"$regex": ""}}])", "{}"));
  CAF_CHECK(matches(R"([{"s": "/WIN/i"}])", R"({"s": "/WIN/i"})")); // top level: plain text
}

CAF_TEST(regex never searches a string longer than the limit) {
  auto f = filter_set::parse(R"([{"s": {"$regex": "a.*b"}}])");
  CAF_REQUIRE(f);
  std::string text(filter::max_regex_subject - 1, 'a');
  CAF_CHECK(f->matches(value{{"s", text + "b"}}));
  CAF_CHECK(!f->matches(value{{"s", text + "bb"}}));
  // std::regex would overflow the stack on this one.
  CAF_CHECK(!f->matches(value{{"s", std::string(200000, 'a') + "b"}}));
}

CAF_TEST(regex flags come from slashes or options) {
  CAF_CHECK(matches(R"([{"s": {"$regex": "/WIN/i"}}])", R"({"s": "win32"})"));
  CAF_CHECK(matches(R"([{"s": {"$regex": "WIN", "$options": "i"}}])", R"({"s": "win32"})"));
  CAF_CHECK(matches(R"([{"s": {"$regex": "/^b/m"}}])", R"({"s": "a\nb"})"));
  CAF_CHECK(!matches(R"([{"s": {"$regex": "^b"}}])", R"({"s": "a\nb"})"));
  CAF_CHECK(!matches(R"([{"s": {"$regex": "/a.b/"}}])", R"({"s": "a\nb"})"));
  CAF_CHECK(matches(R"([{"s": {"$regex": "/a.b/s"}}])", R"({"s": "a\nb"})"));
  CAF_CHECK(matches(R"([{"s": {"$regex": "a.b", "$options": "s"}}])", R"({"s": "a\nb"})"));
  CAF_CHECK(matches(R"([{"s": {"$regex": "/^A.B$/ims"}}])", R"({"s": "x\na\nb"})"));
  // Not a /pattern/flags literal: a plain pattern with slashes.
  CAF_CHECK(matches(R"([{"s": {"$regex": "/usr/.*"}}])", R"({"s": "/usr/bin"})"));
}

CAF_TEST(not negates a value or an operator object) {
  CAF_CHECK(matches(R"([{"p": {"$not": {"$gt": 5}}}])", R"({"p": 3})"));
  CAF_CHECK(!matches(R"([{"p": {"$not": {"$gt": 5}}}])", R"({"p": 7})"));
  CAF_CHECK(matches(R"([{"p": {"$not": {"$gt": 5}}}])", "{}"));
  CAF_CHECK(!matches(R"([{"p": {"$not": {"$gt": 5}}}])", R"({"p": [1, 7]})"));
  CAF_CHECK(matches(R"([{"p": {"$not": "a"}}])", R"({"p": "b"})"));
  CAF_CHECK(matches(R"([{"p": {"$not": "a*"}}])", R"({"p": "ab"})")); // literal
  CAF_CHECK(!matches(R"([{"p": {"$not": {"$regex": "^a"}}}])", R"({"p": "ab"})"));
  CAF_CHECK(!matches(R"([{"p": {"$not": {"$exists": false}}}])", "{}"));
}

CAF_TEST(field level and or nor combine conditions on the field) {
  CAF_CHECK(matches(R"([{"p": {"$or": ["a", {"$gt": 5}]}}])", R"({"p": 7})"));
  CAF_CHECK(matches(R"([{"p": {"$or": ["a", {"$gt": 5}]}}])", R"({"p": "a"})"));
  CAF_CHECK(!matches(R"([{"p": {"$or": ["a", {"$gt": 5}]}}])", R"({"p": 3})"));
  CAF_CHECK(!matches(R"([{"p": {"$or": ["a", "b"]}}])", "{}"));
  CAF_CHECK(matches(R"([{"p": {"$and": [{"$gt": 1}, {"$lt": 3}]}}])", R"({"p": 2})"));
  CAF_CHECK(!matches(R"([{"p": {"$and": [{"$gt": 1}, {"$lt": 3}]}}])", R"({"p": 3})"));
  CAF_CHECK(matches(R"([{"p": {"$nor": ["a", "b"]}}])", R"({"p": "c"})"));
  CAF_CHECK(!matches(R"([{"p": {"$nor": ["a", "b"]}}])", R"({"p": "b"})"));
  CAF_CHECK(matches(R"([{"p": {"$nor": ["a", "b"]}}])", "{}"));
}

CAF_TEST(top level and or nor combine sub rules) {
  CAF_CHECK(matches(R"([{"$or": [{"a": "1"}, {"b": "2"}]}])", R"({"b": "2"})"));
  CAF_CHECK(!matches(R"([{"$or": [{"a": "1"}, {"b": "2"}]}])", R"({"c": "3"})"));
  CAF_CHECK(matches(R"([{"$and": [{"a": "1"}, {"b": "2"}]}])", R"({"a": "1", "b": "2"})"));
  CAF_CHECK(!matches(R"([{"$and": [{"a": "1"}, {"b": "2"}]}])", R"({"b": "2"})"));
  CAF_CHECK(matches(R"([{"$nor": [{"a": "1"}, {"b": "2"}]}])", R"({"c": "3"})"));
  CAF_CHECK(!matches(R"([{"$nor": [{"a": "1"}, {"b": "2"}]}])", R"({"a": "1"})"));
  CAF_CHECK(matches(R"([{"t": "s", "$or": [{"a": "x*"}, {"b": 2}]}])", R"({"t": "s", "a": "xy"})"));
  CAF_CHECK(!matches(R"([{"t": "s", "$or": [{"a": "x*"}]}])", R"({"t": "z", "a": "xy"})"));
}

CAF_TEST(elem match applies operators or a sub rule to list elements) {
  CAF_CHECK(matches(R"([{"v": {"$elemMatch": {"$gt": 2, "$lt": 4}}}])", R"({"v": [1, 3]})"));
  // Unlike {"$gt": 2, "$lt": 3} on the list, one element must satisfy both.
  CAF_CHECK(!matches(R"([{"v": {"$elemMatch": {"$gt": 2, "$lt": 3}}}])", R"({"v": [1, 3]})"));
  CAF_CHECK(matches(R"([{"v": {"$gt": 2, "$lt": 3}}])", R"({"v": [1, 3]})"));
  CAF_CHECK(!matches(R"([{"v": {"$elemMatch": {"$gt": 0}}}])", R"({"v": 3})"));
  CAF_CHECK(!matches(R"([{"v": {"$elemMatch": {"$gt": 0}}}])", "{}"));
  CAF_CHECK(matches(R"([{"v": {"$elemMatch": {"k": "a", "n": {"$gte": 2}}}}])",
                    R"({"v": [{"k": "a", "n": 1}, {"k": "a", "n": 2}]})"));
  CAF_CHECK(!matches(R"([{"v": {"$elemMatch": {"k": "a", "n": {"$gte": 2}}}}])",
                     R"({"v": [{"k": "a", "n": 1}, {"k": "b", "n": 2}]})"));
  // Strings inside an operator are literal, also in a sub-rule.
  CAF_CHECK(matches(R"([{"v": {"$elemMatch": {"k": "a*"}}}])", R"({"v": [{"k": "a*"}]})"));
  CAF_CHECK(!matches(R"([{"v": {"$elemMatch": {"k": "a*"}}}])", R"({"v": [{"k": "ab"}]})"));
  CAF_CHECK(matches(R"([{"v": {"$elemMatch": {"k": "!x"}}}])", R"({"v": [{"k": "!x"}]})"));
  // Only $and/$or/$nor: a sub-rule on object elements, as in MongoDB.
  CAF_CHECK(matches(R"([{"v": {"$elemMatch": {"$or": [{"k": 1}, {"j": 2}]}}}])",
                    R"({"v": [5, {"j": 2, "x": 0}]})"));
  CAF_CHECK(matches(R"([{"v": {"$elemMatch": {}}}])", R"({"v": [1, {}]})"));
  CAF_CHECK(!matches(R"([{"v": {"$elemMatch": {}}}])", R"({"v": [1]})"));
}

// -- DESIGN §2.7: invalid filters ----------------------------------------------

CAF_TEST(invalid filters are rejected naming the rule header and operator) {
  CAF_CHECK(is_error(R"([{}, {"version": {"$gtx": 3}}])",
                     R"(filter rule 1, header "version": unknown operator "$gtx")"));
  CAF_CHECK(
      is_error(R"([{}, {"v": {"$in": 3}}])", R"(filter rule 1, header "v": "$in" needs a list)"));
  CAF_CHECK(is_error(R"([{"v": {"$nin": "a"}}])", R"("$nin" needs a list)"));
  CAF_CHECK(is_error(R"([{"v": {"$all": {}}}])", R"("$all" needs a list)"));
  CAF_CHECK(is_error(R"([{"v": {"$all": []}}])", R"("$all" needs a non-empty list)"));
  CAF_CHECK(is_error(R"([{"v": {"$size": -1}}])", R"("$size" needs a non-negative integer)"));
  CAF_CHECK(is_error(R"([{"v": {"$size": 1.5}}])", "non-negative integer"));
  CAF_CHECK(is_error(R"([{"v": {"$size": "1"}}])", "non-negative integer"));
  CAF_CHECK(is_error(R"([{"v": {"$gt": true}}])", R"("$gt" needs a number or a string)"));
  CAF_CHECK(is_error(R"([{"v": {"$lte": [1]}}])", R"("$lte" needs a number or a string)"));
  CAF_CHECK(is_error(R"([{"v": {"$exists": 1}}])", R"("$exists" needs true or false)"));
  CAF_CHECK(is_error(R"([{"v": {"$regex": 1}}])", R"("$regex" needs a string)"));
  CAF_CHECK(is_error(R"([{"v": {"$regex": "a", "$options": 1}}])", R"("$options" needs a string)"));
  CAF_CHECK(is_error(R"([{"v": {"$options": "i"}}])", R"("$options" needs "$regex" beside it)"));
  CAF_CHECK(is_error(R"([{"v": {"$or": []}}])", R"("$or" needs a non-empty list of conditions)"));
  CAF_CHECK(is_error(R"([{"v": {"$and": "a"}}])", R"("$and" needs a non-empty list)"));
  CAF_CHECK(is_error(R"([{"v": {"$elemMatch": [1]}}])", R"("$elemMatch" needs an object)"));
  CAF_CHECK(
      is_error(R"([{"v": {"$gt": 1, "x": 2}}])", R"(operators mixed with the plain key "x")"));
}

CAF_TEST(a regex that does not compile is an error naming it) {
  CAF_CHECK(is_error(R"([{"v": {"$regex": "a("}}])",
                     R"(filter rule 0, header "v": invalid regular expression "a(")"));
  CAF_CHECK(is_error(R"([{"v": {"$regex": "[z-a]"}}])", R"(invalid regular expression "[z-a]")"));
  CAF_CHECK(is_error(R"([{"v": {"$regex": "/a/x"}}])", R"(unknown regex flag "x")"));
  CAF_CHECK(is_error(R"([{"v": {"$regex": "a", "$options": "g"}}])", R"(unknown regex flag "g")"));
}

CAF_TEST(a malformed rule list or rule is an error) {
  CAF_CHECK(is_error(R"({"a": "b"})", "filters must be a JSON array of rules; got object"));
  CAF_CHECK(is_error(R"("a")", "filters must be a JSON array of rules; got string"));
  CAF_CHECK(is_error(R"(["a"])", "filter rule 0: a rule must be a JSON object"));
  CAF_CHECK(is_error(R"([{}, [{"a": "b"}]])", "filter rule 1: a rule must be a JSON object"));
  CAF_CHECK(is_error(R"([{"$where": "1"}])", R"(filter rule 0: unknown operator "$where")"));
  CAF_CHECK(
      is_error(R"([{"$or": [{}, 1]}])", "filter rule 0, $or[1]: a rule must be a JSON object"));
  CAF_CHECK(is_error(R"([{"$nor": []}])", R"("$nor" needs a non-empty list of rules)"));
  CAF_CHECK(is_error(R"([{"$and": {}}])", R"("$and" needs a non-empty list of rules)"));
}

CAF_TEST(errors deep inside a condition name the path to them) {
  CAF_CHECK(is_error(R"([{"v": {"$not": {"$or": [1, {"$bad": 1}]}}}])",
                     R"(filter rule 0, header "v", $not, $or[1]: unknown operator "$bad")"));
  CAF_CHECK(is_error(R"([{"$or": [{"a": {"$in": 1}}]}])",
                     R"(filter rule 0, $or[0], header "a": "$in" needs a list)"));
  CAF_CHECK(is_error(R"([{"v": {"$elemMatch": {"k": {"$size": -2}}}}])",
                     R"(filter rule 0, header "v", $elemMatch, header "k": "$size")"));
  CAF_CHECK(is_error(R"([{"v": {"$elemMatch": {"$gt": 1, "k": 2}}}])", "mixed"));
  CAF_CHECK(is_error(R"([{"a\"b": {"$x": 1}}])", R"(header "a\"b": unknown operator "$x")"));
}

CAF_TEST(invalid json is an error naming the position) {
  CAF_CHECK(is_error(R"([{"a": )", "filters are not valid JSON: parse error at line 1, column 8"));
  CAF_CHECK(is_error("", "not valid JSON"));
  CAF_CHECK(is_error("[{\"a\": \"b\"}\n, }]", "line 2"));
}

// -- the filter_set object -----------------------------------------------------

CAF_TEST(rules returns the filters as given) {
  auto text = R"([{"type": "sample", "kind": "!raw"}, {"v": {"$gt": 1}}])";
  auto f = filter_set::parse(text);
  CAF_REQUIRE(f);
  CAF_CHECK(f->rules() == value::parse(text));
  filter_set copy = *f; // copies share the compiled rules
  CAF_CHECK(&copy.rules() == &f->rules());
  CAF_CHECK(copy.matches(value{{"type", "sample"}}));
}

CAF_TEST(a default filter set is empty and matches nothing) {
  filter_set empty;
  CAF_CHECK(empty.rules() == value::array());
  CAF_CHECK(!empty.matches(value::object()));
  CAF_CHECK(!empty.matches(value{{"type", "sample"}}));
}
