#include "runtime/pipeline/schedule.hpp"

#include "runtime/pipeline/layout.hpp"
#include "runtime/scheduling/cron.hpp"
#include "runtime/task/uid.hpp"

#include <cmath>

namespace sy::pipeline {

value to_json(const schedule& s) {
  return {{"id", s.id},
          {"headers", s.headers},
          {"payload", s.payload},
          {"priority", to_string(s.priority)},
          {"every", s.every},
          {"cron", s.cron},
          {"jitter", s.jitter},
          {"grace", s.grace},
          {"enabled", s.enabled},
          {"next_run", s.next_run},
          {"last_root", s.last_root},
          {"last_sent", s.last_sent},
          {"sent", s.sent},
          {"skipped", s.skipped},
          {"created_at", s.created_at}};
}

expected<schedule> schedule_from_json(const value& json) {
  if (!json.is_object()) return make_error(errc::invalid_input, "a schedule must be a JSON object");
  schedule s;
  try {
    s.id = json.at("id").get<std::string>();
    s.headers = json.value("headers", value::object());
    s.payload = json.value("payload", value::object());
    auto p = parse_priority(json.value("priority", "normal"));
    if (!p) return make_error(errc::invalid_input, "schedule " + s.id + ": key \"priority\"");
    s.priority = *p;
    s.every = json.value("every", 0.0);
    s.cron = json.value("cron", "");
    s.jitter = json.value("jitter", 0.0);
    s.grace = json.value("grace", 0.0);
    s.enabled = json.value("enabled", true);
    s.next_run = json.value("next_run", 0.0);
    s.last_root = json.value("last_root", "");
    s.last_sent = json.value("last_sent", 0.0);
    s.sent = json.value("sent", std::uint64_t{0});
    s.skipped = json.value("skipped", std::uint64_t{0});
    s.created_at = json.value("created_at", 0.0);
  } catch (const value::exception& e) {
    return make_error(errc::invalid_input,
                      std::string{"a stored schedule is malformed: "} + e.what());
  }
  return s;
}

expected<void> plan_first_run(schedule& s, double now) {
  s.created_at = now;
  if (s.cron.empty()) {
    s.next_run = now;
    return {};
  }
  auto next = next_run_after(s, now);
  if (!next) return next.error();
  s.next_run = *next;
  return {};
}

expected<void> validate(const schedule& s) {
  auto bad = [&](const std::string& what) {
    return make_error(errc::invalid_input, "schedule \"" + s.id + "\": " + what);
  };
  if (!is_key_token(s.id)) return bad("the id must be letters, digits, '_' or '-'");
  if ((s.every > 0) == !s.cron.empty())
    return bad("give exactly one of an interval and a cron expression");
  if (s.every < 0) return bad("the interval must be positive");
  if (!s.cron.empty())
    if (auto c = scheduling::parse_cron(s.cron); !c) return bad(c.error().message);
  if (s.jitter < 0 || s.grace < 0) return bad("jitter and grace must not be negative");
  if (!s.headers.is_object() || s.headers.empty()) return bad("the blueprint needs headers");
  if (!s.payload.is_object()) return bad("the payload must be a JSON object");
  return {};
}

expected<double> next_run_after(const schedule& s, double after) {
  if (s.every > 0) return after + s.every;
  auto spec = scheduling::parse_cron(s.cron);
  if (!spec) return spec.error();
  auto t = scheduling::next_cron_time(*spec, static_cast<std::int64_t>(std::floor(after)));
  if (!t) return t.error();
  return static_cast<double>(*t);
}

schedule_action decide(const schedule& s, double now, std::optional<double> last_finished_at) {
  if (!s.enabled || now < s.next_run) return schedule_action::wait;
  if (s.grace > 0 && last_finished_at && now - *last_finished_at < s.grace)
    return schedule_action::skip;
  return schedule_action::send;
}

task blueprint_task(const schedule& s) {
  auto t = make_task(s.headers, s.payload, s.priority);
  t.uid =
      fork_uid("schedule." + s.id, std::to_string(static_cast<std::int64_t>(s.next_run * 1000)));
  t.root_uid = t.uid;
  return t;
}

} // namespace sy::pipeline
