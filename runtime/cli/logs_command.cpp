// `switchyard logs`: replays recent log records from SY_LOGS and, with
// --follow, prints new ones as nodes write them (docs/PIPELINE.md "Logs").
//
// Records are read through ephemeral pull consumers of our own (no acks,
// deleted when done, removed by the server a minute after a crash). The
// identity is filtered by subject at the server; the level on the client,
// since one subject filter cannot say "warn or above" (the server, 2.9, takes
// one filter per consumer).

#include "runtime/broker/consumer_spec.hpp"
#include "runtime/broker/pull_consumer.hpp"
#include "runtime/broker/stream_spec.hpp"
#include "runtime/cli/client.hpp"
#include "runtime/cli/command.hpp"
#include "runtime/cli/config_flags.hpp"
#include "runtime/config/duration.hpp"
#include "runtime/log/log.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/task/uid.hpp"

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <ctime>
#include <deque>
#include <iostream>
#include <mutex>

namespace sy::cli {

namespace {

using namespace std::chrono_literals;
using level_enum = spdlog::level::level_enum;

struct logs_options {
  config_flags config;
  std::string identity;
  std::string level = "trace";
  std::string since = "1h";
  /// -1: not given (then --since applies).
  int last = -1;
  bool follow = false;
  bool json = false;
};

std::atomic<bool> interrupted{false};

/// A record's level. Earlier nodes wrote spdlog's own name "warning" for warn.
std::optional<level_enum> record_level(const value& r) {
  auto text = r.value("level", "");
  if (text == "warning") return spdlog::level::warn;
  return log::parse_level(text);
}

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

/// Where one read of SY_LOGS starts.
struct read_start {
  broker::deliver_policy deliver = broker::deliver_policy::by_start_time;
  /// With `by_start_time`.
  std::chrono::system_clock::time_point time;
  /// With `by_start_sequence`.
  std::uint64_t sequence = 1;
  /// Without --follow: the stream's last sequence when the command started;
  /// reading stops there even if matching records keep coming.
  std::uint64_t until = 0;
};

/// Reads the records on `filter` from `start`, handing each one that parses
/// to `on_record`, one at a time (on a broker thread). Without `follow` it
/// returns once it caught up (nothing pending for the consumer, or
/// `start.until` reached); with `follow` when interrupted. Returns the highest stream sequence it
/// delivered, 0 if none.
expected<std::uint64_t> read_logs(const std::shared_ptr<broker::connection>& conn,
                                  const std::string& filter, const read_start& start, bool follow,
                                  const std::function<void(const value&)>& on_record) {
  broker::consumer_spec spec;
  spec.stream = pipeline::logs_stream;
  spec.durable = "sy-logs-" + new_uid();
  spec.filter_subject = filter;
  spec.deliver = start.deliver;
  spec.start_time = start.time;
  spec.start_sequence = start.sequence;
  spec.acks = false;
  spec.inactive_threshold = 1min;
  spec.description = "switchyard logs";
  if (auto r = broker::ensure_consumer(*conn, spec); !r) return r.error();
  struct drop_consumer {
    broker::connection& conn;
    const broker::consumer_spec& spec;
    ~drop_consumer() { (void)broker::delete_consumer(conn, spec.stream, spec.durable); }
  } guard{*conn, spec};
  // Nothing is delivered before the puller starts: this is what there is.
  auto info = broker::consumer_info(*conn, spec.stream, spec.durable);
  if (!info) return info.error();
  if (!follow && info->num_pending == 0) return 0;

  std::mutex mutex;
  std::condition_variable progress;
  std::uint64_t last_sequence = 0;
  bool caught_up = false;
  auto last_progress = std::chrono::steady_clock::now();
  broker::pull_options popts;
  popts.stream = spec.stream;
  popts.consumer = spec.durable;
  popts.window = 1024;
  popts.batch = 256;
  popts.expires = 2s;
  popts.idle_heartbeat = 1s;
  popts.release_on_return = true;
  popts.on_message = [&](broker::message m) {
    auto meta = m.metadata();
    auto record = value::parse(m.data(), nullptr, false);
    std::lock_guard<std::mutex> lock{mutex};
    if (record.is_object()) on_record(record);
    if (meta) {
      last_sequence = std::max(last_sequence, meta->stream_seq);
      if (meta->num_pending == 0 || (start.until > 0 && meta->stream_seq >= start.until))
        caught_up = true;
    }
    last_progress = std::chrono::steady_clock::now();
    progress.notify_all();
  };
  auto puller = broker::pull_consumer::start(conn, std::move(popts));
  if (!puller) return puller.error();

  expected<std::uint64_t> result = 0;
  std::unique_lock<std::mutex> lock{mutex};
  while (!interrupted) {
    progress.wait_for(lock, 100ms);
    if (follow || interrupted) continue;
    if (caught_up) break;
    // A safety net if no message says "nothing pending" (or the broker is
    // gone): ask the consumer after a quiet while.
    if (std::chrono::steady_clock::now() - last_progress < 2s) continue;
    lock.unlock();
    auto now = broker::consumer_info(*conn, spec.stream, spec.durable);
    lock.lock();
    if (!now) {
      result = now.error();
      break;
    }
    if (now->num_pending == 0) break;
    last_progress = std::chrono::steady_clock::now();
  }
  lock.unlock();
  (void)(*puller)->stop(2s);
  if (!result) return result;
  return last_sequence;
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
    return usage_error("--identity: \"" + opts.identity + "\" is not a consumer identity");
  auto loaded = opts.config.load();
  if (!loaded) return usage_error(loaded.error().message);
  auto conn = connect_client(loaded->config, "logs");
  if (!conn) return usage_error(conn.error().message);
  auto stream = broker::stream_info(**conn, pipeline::logs_stream);
  if (!stream && stream.error().code == errc::not_found)
    return usage_error(std::string{pipeline::logs_stream} +
                       " does not exist: no node ever ran against this broker");
  if (!stream) return usage_error(stream.error().message);

  auto filter = opts.identity.empty() ? std::string{"sy.logs.>"}
                                      : "sy.logs.*." + pipeline::identity_token(opts.identity);
  // A record of unknown level is shown only when no level was asked for.
  auto keep = [&](const value& r) {
    auto level = record_level(r);
    return level ? *level >= *min_level : *min_level == spdlog::level::trace;
  };
  auto print = [&](const value& r) {
    std::cout << (opts.json ? r.dump(-1, ' ', false, value::error_handler_t::replace)
                            : format_record(r))
              << '\n';
    if (opts.follow) std::cout.flush();
  };
  auto print_kept = [&](const value& r) {
    if (keep(r)) print(r);
  };

  std::signal(SIGINT, [](int) { interrupted = true; });
  std::signal(SIGTERM, [](int) { interrupted = true; });
  expected<std::uint64_t> done = 0;
  if (opts.last < 0) {
    read_start start;
    start.time = std::chrono::system_clock::now() - *since;
    start.until = stream->last_seq;
    done = read_logs(*conn, filter, start, opts.follow, print_kept);
  } else {
    // The last N records: read ever longer tails of the stream until one
    // holds N that pass the filters, or the tail is the whole stream.
    auto last = static_cast<std::size_t>(opts.last);
    read_start start;
    start.deliver = broker::deliver_policy::by_start_sequence;
    start.sequence = stream->last_seq + 1;
    start.until = stream->last_seq;
    std::deque<value> tail;
    std::uint64_t window = std::max<std::uint64_t>(4 * last, 1024);
    while (last > 0 && stream->messages > 0 && !interrupted) {
      auto first = stream->last_seq - stream->first_seq + 1 > window ? stream->last_seq - window + 1
                                                                     : stream->first_seq;
      start.sequence = first;
      tail.clear();
      auto end = read_logs(*conn, filter, start, false, [&](const value& r) {
        if (!keep(r)) return;
        tail.push_back(r);
        if (tail.size() > last) tail.pop_front();
      });
      if (!end) {
        done = end.error();
        break;
      }
      if (*end > 0) start.sequence = *end + 1; // --follow goes on from there
      if (tail.size() == last || first == stream->first_seq) break;
      window *= 8;
    }
    for (const auto& r : tail)
      print(r);
    std::cout.flush();
    if (done && opts.follow && !interrupted)
      done = read_logs(*conn, filter, start, true, print_kept);
  }
  std::cout.flush();
  if (!done) return usage_error(done.error().message);
  return exit_ok;
}

} // namespace

void add_logs_command(CLI::App& app, int& result) {
  auto opts = std::make_shared<logs_options>();
  auto cmd = app.add_subcommand(
      "logs", "Print the log records nodes published to SY_LOGS (log.publish), oldest first");
  cmd->add_option("--identity", opts->identity, "Only the records of this consumer identity");
  cmd->add_option("--level", opts->level,
                  "Only records at this level or above: trace, debug, info, warn, error, critical")
      ->default_str("trace");
  auto since = cmd->add_option("--since", opts->since, "Start this long ago (e.g. 10m, 2h)")
                   ->default_str("1h");
  cmd->add_option("--last", opts->last, "Start with the last N records that pass the filters")
      ->check(CLI::Range(0, 1000000000))
      ->excludes(since);
  cmd->add_flag("--follow,-f", opts->follow, "Keep printing new records until interrupted");
  cmd->add_flag("--json", opts->json, "Print each record as one JSON object per line");
  opts->config.add_to(cmd);
  cmd->callback([opts, &result] { result = run_logs(*opts); });
}

} // namespace sy::cli
