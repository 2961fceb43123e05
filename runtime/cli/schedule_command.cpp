// `switchyard schedule add|ls|enable|disable|rm`: periodic schedules in
// bucket sy_schedules (docs/PLUGINS.md "Schedules"), run by the leading
// housekeeper.

#include "runtime/cli/client.hpp"
#include "runtime/cli/command.hpp"
#include "runtime/cli/ops_common.hpp"
#include "runtime/config/duration.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/pipeline/schedule.hpp"

#include <cmath>
#include <ctime>
#include <iostream>

namespace sy::cli {

namespace {

struct add_options {
  ops_flags flags;
  std::string id;
  std::string every;
  std::string cron;
  std::vector<std::string> headers;
  std::vector<std::string> json_headers;
  std::string payload;
  std::string priority = "normal";
  std::string jitter = "0s";
  std::string grace = "0s";
  bool disabled = false;
};

struct id_options {
  ops_flags flags;
  std::string id;
};

expected<std::shared_ptr<broker::kv_bucket>> open_schedules(const ops_flags& flags,
                                                            const std::string& command) {
  auto session = open_session(flags, command);
  if (!session) return session.error();
  auto bucket = broker::kv_bucket::open(session->conn, pipeline::schedules_bucket);
  if (!bucket)
    return make_error(bucket.error().code, std::string{"bucket "} + pipeline::schedules_bucket +
                                               ": " + bucket.error().message +
                                               " (start a node of this version once)");
  return std::make_shared<broker::kv_bucket>(std::move(*bucket));
}

expected<double> seconds_of(const std::string& flag, const std::string& text) {
  auto d = config::parse_duration(text);
  if (!d || d->count() < 0)
    return make_error(errc::invalid_input, flag + ": not a duration: \"" + text + "\"");
  return d->count() / 1000.0;
}

std::string utc(double unix_seconds) {
  std::time_t t = static_cast<std::time_t>(std::floor(unix_seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%d %H:%M:%S", &tm);
  return std::string{out} + "Z";
}

int run_add(const add_options& opts) {
  pipeline::schedule s;
  s.id = opts.id;
  if (!opts.every.empty()) {
    auto every = seconds_of("--every", opts.every);
    if (!every) return failed(every.error());
    if (*every <= 0) return usage_error("--every must be longer than 0");
    s.every = *every;
  }
  s.cron = opts.cron;
  if (auto r = parse_headers(opts.headers, false, s.headers); !r) return failed(r.error());
  if (auto r = parse_headers(opts.json_headers, true, s.headers); !r) return failed(r.error());
  if (!opts.payload.empty()) {
    s.payload = value::parse(opts.payload, nullptr, false);
    if (!s.payload.is_object()) return usage_error("--payload must be a JSON object");
  }
  s.priority = *parse_priority(opts.priority);
  auto jitter = seconds_of("--jitter", opts.jitter);
  auto grace = seconds_of("--grace", opts.grace);
  if (!jitter) return failed(jitter.error());
  if (!grace) return failed(grace.error());
  s.jitter = *jitter;
  s.grace = *grace;
  s.enabled = !opts.disabled;
  if (auto r = pipeline::validate(s); !r) return failed(r.error());
  if (auto r = pipeline::plan_first_run(s, unix_now()); !r) return failed(r.error());
  auto bucket = open_schedules(opts.flags, "schedule");
  if (!bucket) return failed(bucket.error());
  if (auto r = (*bucket)->create(s.id, to_json(s).dump()); !r) {
    if (r.error().code == errc::conflict)
      return usage_error("schedule \"" + s.id + "\" exists; remove it first (schedule rm)");
    return failed(r.error());
  }
  if (opts.flags.json)
    std::cout << to_json(s).dump() << '\n';
  else
    std::cout << s.id << ": next run " << utc(s.next_run) << '\n';
  return exit_ok;
}

int run_ls(const ops_flags& flags) {
  auto bucket = open_schedules(flags, "schedule");
  if (!bucket) return failed(bucket.error());
  auto entries = (*bucket)->entries(">");
  if (!entries) return failed(entries.error());
  value all = value::array();
  std::vector<std::vector<std::string>> table{
      {"ID", "ENABLED", "WHEN", "NEXT RUN", "SENT", "SKIPPED", "HEADERS"}};
  for (const auto& e : *entries) {
    if (e.operation != broker::kv_operation::put) continue;
    auto s = pipeline::schedule_from_json(value::parse(e.value, nullptr, false));
    if (!s) {
      std::cerr << "switchyard: schedule " << e.key << ": " << s.error().message << '\n';
      continue;
    }
    all.push_back(to_json(*s));
    auto when = s->cron.empty()
                    ? "every " + std::to_string(static_cast<std::int64_t>(s->every)) + "s"
                    : "cron \"" + s->cron + "\"";
    table.push_back({s->id, s->enabled ? "yes" : "no", when, utc(s->next_run),
                     std::to_string(s->sent), std::to_string(s->skipped), s->headers.dump()});
  }
  if (flags.json)
    std::cout << all.dump() << '\n';
  else
    print_table(table);
  return exit_ok;
}

int run_set_enabled(const id_options& opts, bool enabled) {
  auto bucket = open_schedules(opts.flags, "schedule");
  if (!bucket) return failed(bucket.error());
  // Read, change, write on the revision read: a run recorded meanwhile
  // makes us read again.
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto e = (*bucket)->get(opts.id);
    if (!e && e.error().code == errc::not_found) return negative("no schedule \"" + opts.id + "\"");
    if (!e) return failed(e.error());
    auto s = pipeline::schedule_from_json(value::parse(e->value, nullptr, false));
    if (!s) return failed(s.error());
    s->enabled = enabled;
    auto r = (*bucket)->update(opts.id, to_json(*s).dump(), e->revision);
    if (r) {
      if (opts.flags.json)
        std::cout << to_json(*s).dump() << '\n';
      else
        std::cout << opts.id << (enabled ? ": enabled" : ": disabled") << '\n';
      return exit_ok;
    }
    if (r.error().code != errc::conflict) return failed(r.error());
  }
  return failed(make_error(errc::conflict, "schedule \"" + opts.id + "\" keeps changing"));
}

int run_rm(const id_options& opts) {
  auto bucket = open_schedules(opts.flags, "schedule");
  if (!bucket) return failed(bucket.error());
  auto e = (*bucket)->get(opts.id);
  if (!e && e.error().code == errc::not_found) return negative("no schedule \"" + opts.id + "\"");
  if (!e) return failed(e.error());
  if (auto r = (*bucket)->erase(opts.id); !r) return failed(r.error());
  if (opts.flags.json)
    std::cout << value{{"id", opts.id}, {"removed", true}}.dump() << '\n';
  else
    std::cout << opts.id << ": removed\n";
  return exit_ok;
}

} // namespace

void add_schedule_commands(CLI::App& app, int& result) {
  auto cmd = app.add_subcommand(
      "schedule",
      "Periodic schedules: a task sent again and again (run by the nodes' housekeeper)");
  cmd->require_subcommand(1);

  auto add = std::make_shared<add_options>();
  auto a = cmd->add_subcommand("add", "Create a schedule");
  a->add_option("id", add->id, "Schedule id: letters, digits, '_' or '-'")->required();
  auto every = a->add_option("--every", add->every, "Interval, e.g. 30s, 10m, 1h (runs at once)");
  auto cron = a->add_option("--cron", add->cron, "Cron expression in UTC, e.g. \"*/5 * * * *\"");
  every->excludes(cron);
  a->add_option("-H,--header", add->headers, "Header key=value (repeatable)");
  a->add_option("--header-json", add->json_headers, "Header key=JSON (repeatable)");
  a->add_option("--payload", add->payload, "Payload as a JSON object");
  a->add_option("--priority", add->priority, "high, normal or low")
      ->check(CLI::IsMember({"high", "normal", "low"}));
  a->add_option("--jitter", add->jitter, "Each run later by a random delay up to this");
  a->add_option("--grace", add->grace,
                "Skip a run when the previous one's analysis finished less than this ago");
  a->add_flag("--disabled", add->disabled, "Create it disabled");
  add->flags.add_to(a);
  a->callback([add, &result] { result = run_add(*add); });

  auto ls = std::make_shared<ops_flags>();
  auto l = cmd->add_subcommand("ls", "List the schedules");
  ls->add_to(l);
  l->callback([ls, &result] { result = run_ls(*ls); });

  for (auto [name, enabled] : {std::pair{"enable", true}, std::pair{"disable", false}}) {
    auto o = std::make_shared<id_options>();
    auto c = cmd->add_subcommand(name, enabled ? "Enable a schedule" : "Disable a schedule");
    c->add_option("id", o->id, "Schedule id")->required();
    o->flags.add_to(c);
    c->callback([o, enabled = enabled, &result] { result = run_set_enabled(*o, enabled); });
  }

  auto rm = std::make_shared<id_options>();
  auto r = cmd->add_subcommand("rm", "Delete a schedule");
  r->add_option("id", rm->id, "Schedule id")->required();
  rm->flags.add_to(r);
  r->callback([rm, &result] { result = run_rm(*rm); });
}

} // namespace sy::cli
