#define CAF_SUITE runtime.config.duration
#include "caf/test/unit_test.hpp"
#include "runtime/config/duration.hpp"

#include <vector>

using namespace sy::config;
using namespace std::chrono_literals;

CAF_TEST(durations with units and combinations parse to milliseconds) {
  CAF_CHECK(parse_duration("250ms") == 250ms);
  CAF_CHECK(parse_duration("30s") == 30s);
  CAF_CHECK(parse_duration("10m") == 10min);
  CAF_CHECK(parse_duration("72h") == 72h);
  CAF_CHECK(parse_duration("7d") == 168h);
  CAF_CHECK(parse_duration("1h30m") == 90min);
  CAF_CHECK(parse_duration("1d2h3m4s5ms") == 93784005ms);
  CAF_CHECK(parse_duration("0s") == 0ms);
}

CAF_TEST(garbage negative and ambiguous durations are rejected) {
  for (auto text : {"", "30", "s", "-5s", "+5s", "1.5h", "5 m", " 5m", "5m ", "5M", "5sec", "30m1h",
                    "1s1s", "1h30", "abc", "99999999999999999999d", "106751991168d"})
    CAF_CHECK_EQUAL(parse_duration(text).has_value(), false);
}

CAF_TEST(durations format in the shortest form that parses back) {
  CAF_CHECK_EQUAL(format_duration(0ms), "0s");
  CAF_CHECK_EQUAL(format_duration(90min), "1h30m");
  CAF_CHECK_EQUAL(format_duration(1500ms), "1s500ms");
  CAF_CHECK_EQUAL(format_duration(72h), "3d");
  for (std::chrono::milliseconds d :
       std::vector<std::chrono::milliseconds>{1ms, 61s, 25h, 93784005ms})
    CAF_CHECK(parse_duration(format_duration(d)) == d);
}
