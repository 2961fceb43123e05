#include "runtime/scheduling/cron.hpp"

#include <charconv>
#include <ctime>
#include <sstream>
#include <vector>

namespace sy::scheduling {

namespace {

struct field_range {
  const char* name;
  int low;
  int high;
};

constexpr field_range fields[] = {
    {"minute", 0, 59}, {"hour", 0, 23},       {"day of month", 1, 31},
    {"month", 1, 12},  {"day of week", 0, 7},
};

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in{text};
  while (std::getline(in, part, sep))
    out.push_back(part);
  return out;
}

bool parse_int(const std::string& text, int& out) {
  auto end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && p == end && !text.empty();
}

/// Sets the bits of one field; `bits[i]` for i in [low, high].
expected<void> parse_field(const std::string& text, const field_range& f, std::vector<bool>& bits,
                           bool& restricted) {
  auto bad = [&](const std::string& what) {
    return make_error(errc::invalid_input,
                      std::string{"cron "} + f.name + " field \"" + text + "\": " + what);
  };
  restricted = text != "*";
  for (const auto& item : split(text, ',')) {
    if (item.empty()) return bad("empty list item");
    auto slash = item.find('/');
    auto range = item.substr(0, slash);
    int step = 1;
    if (slash != std::string::npos && (!parse_int(item.substr(slash + 1), step) || step <= 0))
      return bad("step must be a positive number");
    int from = f.low, to = f.high;
    if (range != "*") {
      auto dash = range.find('-');
      if (dash == std::string::npos) {
        if (!parse_int(range, from)) return bad("\"" + range + "\" is not a number");
        to = slash == std::string::npos ? from : f.high;
      } else if (!parse_int(range.substr(0, dash), from) ||
                 !parse_int(range.substr(dash + 1), to)) {
        return bad("\"" + range + "\" is not a range a-b");
      }
    }
    if (from < f.low || to > f.high || from > to)
      return bad("values must be within " + std::to_string(f.low) + "-" + std::to_string(f.high));
    for (int v = from; v <= to; v += step)
      bits[v] = true;
  }
  return {};
}

} // namespace

expected<cron_spec> parse_cron(const std::string& text) {
  std::vector<std::string> parts;
  std::istringstream in{text};
  for (std::string p; in >> p;)
    parts.push_back(p);
  if (parts.size() != 5)
    return make_error(errc::invalid_input,
                      "cron expression \"" + text +
                          "\": expected 5 fields (minute hour day-of-month month day-of-week)");
  cron_spec spec;
  bool restricted[5] = {};
  std::vector<bool> bits[5];
  for (int i = 0; i < 5; ++i) {
    bits[i].assign(fields[i].high + 1, false);
    if (auto r = parse_field(parts[i], fields[i], bits[i], restricted[i]); !r) return r.error();
  }
  for (int v = 0; v < 60; ++v)
    spec.minutes[v] = bits[0][v];
  for (int v = 0; v < 24; ++v)
    spec.hours[v] = bits[1][v];
  for (int v = 1; v <= 31; ++v)
    spec.days[v] = bits[2][v];
  for (int v = 1; v <= 12; ++v)
    spec.months[v] = bits[3][v];
  for (int v = 0; v <= 7; ++v)
    if (bits[4][v]) spec.weekdays[v % 7] = true;
  spec.days_restricted = restricted[2];
  spec.weekdays_restricted = restricted[4];
  return spec;
}

expected<std::int64_t> next_cron_time(const cron_spec& spec, std::int64_t after) {
  // Minute by minute, skipping whole hours and days that cannot match.
  std::int64_t t = (after / 60 + 1) * 60;
  const std::int64_t limit = after + std::int64_t{5} * 366 * 86400;
  while (t <= limit) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    bool day_ok;
    bool dom = spec.days[tm.tm_mday], dow = spec.weekdays[tm.tm_wday];
    if (spec.days_restricted && spec.weekdays_restricted)
      day_ok = dom || dow;
    else
      day_ok = dom && dow;
    if (!spec.months[tm.tm_mon + 1] || !day_ok) {
      t += 86400 - (tm.tm_hour * 3600 + tm.tm_min * 60); // next midnight
      continue;
    }
    if (!spec.hours[tm.tm_hour]) {
      t += 3600 - tm.tm_min * 60; // next hour
      continue;
    }
    if (spec.minutes[tm.tm_min]) return t;
    t += 60;
  }
  return make_error(errc::invalid_input, "the cron expression never matches");
}

} // namespace sy::scheduling
