#define CAF_SUITE scheduling.cron
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/scheduling/cron.hpp"

#include <ctime>

using namespace sy;
using namespace sy::scheduling;

namespace {

/// Unix seconds of a UTC date and time.
std::int64_t at(int year, int month, int day, int hour, int minute) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::int64_t next(const std::string& expr, std::int64_t after) {
  auto spec = parse_cron(expr);
  if (!spec) CAF_FAIL(spec.error().message);
  auto t = next_cron_time(*spec, after);
  if (!t) CAF_FAIL(t.error().message);
  return *t;
}

std::string parse_error(const std::string& expr) {
  auto spec = parse_cron(expr);
  return spec ? std::string{} : spec.error().message;
}

} // namespace

CAF_TEST(steps and lists give the next matching minute) {
  CAF_CHECK_EQUAL(next("*/15 * * * *", at(2026, 11, 30, 10, 7)), at(2026, 11, 30, 10, 15));
  // Strictly after: a time on the minute moves on.
  CAF_CHECK_EQUAL(next("*/15 * * * *", at(2026, 11, 30, 10, 15)), at(2026, 11, 30, 10, 30));
  CAF_CHECK_EQUAL(next("5,35 2 * * *", at(2026, 11, 30, 10, 0)), at(2026, 12, 1, 2, 5));
  CAF_CHECK_EQUAL(next("0 9-17/4 * * *", at(2026, 11, 30, 10, 0)), at(2026, 11, 30, 13, 0));
}

CAF_TEST(days of week and months) {
  // 2026-11-30 is a Monday.
  CAF_CHECK_EQUAL(next("0 9 * * 1", at(2026, 11, 30, 9, 30)), at(2026, 12, 7, 9, 0));
  CAF_CHECK_EQUAL(next("0 0 * * 7", at(2026, 11, 30, 0, 0)), at(2026, 12, 6, 0, 0)); // 7 = Sunday
  CAF_CHECK_EQUAL(next("0 0 1 1 *", at(2026, 11, 30, 0, 0)), at(2027, 1, 1, 0, 0));
  // Both day fields restricted: either matches (Vixie cron).
  CAF_CHECK_EQUAL(next("0 0 15 * 3", at(2026, 11, 30, 0, 0)), at(2026, 12, 2, 0, 0));
  CAF_CHECK_EQUAL(next("0 0 29 2 *", at(2026, 11, 30, 0, 0)), at(2028, 2, 29, 0, 0));
}

CAF_TEST(expressions that never match or do not parse are errors) {
  auto never = parse_cron("0 0 31 2 *");
  CAF_REQUIRE(never.has_value());
  CAF_CHECK(!next_cron_time(*never, at(2026, 1, 1, 0, 0)).has_value());
  CAF_CHECK(parse_error("* * * *").find("expected 5 fields") != std::string::npos);
  CAF_CHECK(parse_error("60 * * * *").find("minute") != std::string::npos);
  CAF_CHECK(parse_error("* 24 * * *").find("hour") != std::string::npos);
  CAF_CHECK(parse_error("*/0 * * * *").find("step") != std::string::npos);
  CAF_CHECK(parse_error("* * 5-2 * *").find("day of month") != std::string::npos);
  CAF_CHECK(parse_error("a * * * *").find("not a number") != std::string::npos);
}
