#include "runtime/pipeline/schedule_runner.hpp"

#include "runtime/pipeline/analysis_events.hpp"

namespace sy::pipeline {

namespace {

/// When the analysis of `root` completed, if it did (and SY_EVENTS still
/// holds its event).
std::optional<double> completed_at(broker::connection& conn, const std::string& root) {
  if (root.empty()) return std::nullopt;
  auto last = last_analysis_event(conn, root);
  if (!last || !*last) return std::nullopt;
  auto event = value::parse(**last, nullptr, false);
  if (!event.is_object() || !event.contains("completed_at")) return std::nullopt;
  return event["completed_at"].get<double>();
}

} // namespace

schedule_pass run_due_schedules(broker::connection& conn, broker::kv_bucket& schedules,
                                producer& producer, double now,
                                const std::function<double()>& draw) {
  schedule_pass pass;
  auto entries = schedules.entries(">");
  if (!entries) {
    pass.errors.push_back("cannot read the schedules: " + entries.error().message);
    return pass;
  }
  for (const auto& entry : *entries) {
    if (entry.operation != broker::kv_operation::put) continue;
    auto json = value::parse(entry.value, nullptr, false);
    auto s = schedule_from_json(json);
    if (!s) {
      pass.errors.push_back("schedule " + entry.key + ": " + s.error().message);
      continue;
    }
    if (decide(*s, now, std::nullopt) == schedule_action::wait) continue;
    auto action = decide(*s, now, completed_at(conn, s->last_root));
    if (action == schedule_action::send) {
      auto t = blueprint_task(*s);
      // Bounded well inside the housekeeping lease; a send still going then
      // ends in the background, and the schedule is due again next pass.
      auto uid = producer.send(t, std::chrono::seconds{10});
      if (!uid) {
        pass.errors.push_back("schedule " + s->id + ": cannot send: " + uid.error().message);
        continue; // due again at the next pass
      }
      s->last_root = *uid;
      s->last_sent = now;
      s->sent++;
      pass.sent.push_back(s->id);
    } else {
      s->skipped++;
      pass.skipped.push_back(s->id);
    }
    // Behind by more than one period: keep the pace from now on.
    auto from = s->every > 0 && now - s->next_run < s->every ? s->next_run : now;
    auto next = next_run_after(*s, from);
    if (!next) {
      s->enabled = false;
      pass.errors.push_back("schedule " + s->id + ": disabled: " + next.error().message);
    } else {
      s->next_run = *next + s->jitter * draw();
    }
    if (auto r = schedules.update(entry.key, to_json(*s).dump(), entry.revision); !r)
      pass.errors.push_back("schedule " + s->id + ": run not recorded: " + r.error().message);
  }
  return pass;
}

} // namespace sy::pipeline
