#pragma once

#include "runtime/core/expected.hpp"

#include <bitset>
#include <cstdint>
#include <string>

namespace sy::scheduling {

/// A cron expression of five fields, minute hour day-of-month month
/// day-of-week, evaluated in UTC. Each field is `*`, a number, a range
/// `a-b`, a step `*/n` or `a-b/n`, or a comma-separated list of those;
/// day-of-week is 0-7 (0 and 7 are Sunday). As in Vixie cron, when both
/// day fields are restricted a day matches if either does.
struct cron_spec {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;   ///< 1..31
  std::bitset<13> months; ///< 1..12
  std::bitset<7> weekdays;
  bool days_restricted = false;
  bool weekdays_restricted = false;
};

/// Parses `text`; errors name the field and what is wrong.
expected<cron_spec> parse_cron(const std::string& text);

/// The first whole minute strictly after `after` (Unix seconds) that matches
/// `spec`; at most about five years ahead, else an error (e.g. "0 0 31 2 *").
expected<std::int64_t> next_cron_time(const cron_spec& spec, std::int64_t after);

} // namespace sy::scheduling
