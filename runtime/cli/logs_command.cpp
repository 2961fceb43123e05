// `switchyard logs`: replays recent log records from SY_LOGS and, with
// --follow, prints new ones as nodes write them.

#include "runtime/broker/consumer_spec.hpp"
#include "runtime/broker/pull_consumer.hpp"
#include "runtime/cli/client.hpp"
#include "runtime/cli/command.hpp"
#include "runtime/cli/config_flags.hpp"
#include "runtime/config/duration.hpp"
#include "runtime/log/log.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/task/uid.hpp"

#include <csignal>
#include <ctime>
#include <iostream>
#include <mutex>
#include <thread>

namespace sy::cli {

namespace {

using namespace std::chrono_literals;

struct logs_options {
  config_flags config;
  std::string identity;
  std::string level = "trace";
  std::string since = "1h";
  bool follow = false;
  bool json = false;
};

std::atomic<bool> interrupted{false};

/// "2026-11-22 17:33:01.872 warn  node-a [scheduler.work] message".
std::string format_record(const value& r) {
  auto time = r.value("time", 0.0);
  auto seconds = static_cast<std::time_t>(time);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03d", static_cast<int>((time - seconds) * 1000) % 1000);
  auto level = r.value("level", "?");
  level.resize(std::max<std::size_t>(level.size(), 5), ' ');
  return std::string{stamp} + millis + " " + level + " " + r.value("node", "?") + " [" +
         r.value("logger", "?") + "] " + r.value("message", "");
}

int run_logs(const logs_options& opts) {
  auto min_level = log::parse_level(opts.level);
  if (!min_level || *min_level == spdlog::level::off)
    return usage_error(
        "--level: expected one of trace, debug, info, warn, error, critical; got \"" + opts.level +
        "\"");
  auto since = config::parse_duration(opts.since);
  if (!since) return usage_error("--since: not a duration: \"" + opts.since + "\"");
  if (!opts.identity.empty() && !pipeline::is_identity(opts.identity))
    return usage_error("\"" + opts.identity + "\" is not a consumer identity");
  auto loaded = opts.config.load();
  if (!loaded) return usage_error(loaded.error().message);
  auto conn = connect_client(loaded->config, "logs");
  if (!conn) return usage_error(conn.error().message);

  // An ephemeral consumer of our own: no acks, gone a minute after we are.
  broker::consumer_spec spec;
  spec.stream = pipeline::logs_stream;
  spec.durable = "sy-logs-" + new_uid();
  spec.filter_subject = opts.identity.empty()
                            ? std::string{"sy.logs.>"}
                            : "sy.logs.*." + pipeline::identity_token(opts.identity);
  spec.deliver = broker::deliver_policy::by_start_time;
  spec.start_time = std::chrono::system_clock::now() - *since;
  spec.acks = false;
  spec.inactive_threshold = 1min;
  spec.description = "switchyard logs";
  if (auto r = broker::ensure_consumer(**conn, spec); !r) return usage_error(r.error().message);

  std::mutex out_mutex;
  auto printed_at = std::make_shared<std::atomic<std::int64_t>>(0);
  broker::pull_options popts;
  popts.stream = spec.stream;
  popts.consumer = spec.durable;
  popts.window = 1024;
  popts.batch = 256;
  popts.expires = 2s;
  popts.idle_heartbeat = 1s;
  auto credit = std::make_shared<std::atomic<broker::pull_consumer*>>(nullptr);
  popts.start_paused = true;
  popts.on_message = [&, credit, printed_at](broker::message m) {
    auto record = value::parse(m.data(), nullptr, false);
    if (auto p = credit->load()) p->release();
    printed_at->store(std::chrono::steady_clock::now().time_since_epoch().count());
    if (!record.is_object()) return;
    auto level = log::parse_level(record.value("level", ""));
    if (level && *level < *min_level) return;
    std::lock_guard<std::mutex> guard{out_mutex};
    std::cout << (opts.json ? record.dump() : format_record(record)) << std::endl;
  };
  auto puller = broker::pull_consumer::start(*conn, std::move(popts));
  if (!puller) return usage_error(puller.error().message);
  credit->store(puller->get());
  (*puller)->resume();

  std::signal(SIGINT, [](int) { interrupted = true; });
  std::signal(SIGTERM, [](int) { interrupted = true; });
  // Without --follow: stop once the consumer has nothing left to deliver
  // and what it delivered was printed.
  while (!interrupted) {
    std::this_thread::sleep_for(100ms);
    if (opts.follow) continue;
    auto state = broker::consumer_info(**conn, spec.stream, spec.durable);
    if (!state) return usage_error(state.error().message);
    auto idle = std::chrono::steady_clock::now().time_since_epoch().count() - printed_at->load();
    if (state->num_pending == 0 &&
        std::chrono::steady_clock::duration{idle} > std::chrono::milliseconds{300})
      break;
  }
  (void)(*puller)->stop(2s);
  credit->store(nullptr);
  (void)broker::delete_consumer(**conn, spec.stream, spec.durable);
  return exit_ok;
}

} // namespace

void add_logs_command(CLI::App& app, int& result) {
  auto opts = std::make_shared<logs_options>();
  auto cmd = app.add_subcommand(
      "logs", "Print the log records nodes published to SY_LOGS (log.publish), oldest first");
  cmd->add_option("--identity", opts->identity, "Only the records of this consumer identity");
  cmd->add_option("--level", opts->level, "Only records at this level or above")
      ->default_str("trace");
  cmd->add_option("--since", opts->since, "Start this long ago (e.g. 10m, 2h)")->default_str("1h");
  cmd->add_flag("--follow,-f", opts->follow, "Keep printing new records until interrupted");
  cmd->add_flag("--json", opts->json, "Print each record as one JSON object per line");
  opts->config.add_to(cmd);
  cmd->callback([opts, &result] { result = run_logs(*opts); });
}

} // namespace sy::cli
