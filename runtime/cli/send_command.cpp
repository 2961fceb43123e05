#include "runtime/broker/consumer_spec.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "runtime/broker/pull_consumer.hpp"
#include "runtime/cli/client.hpp"
#include "runtime/cli/command.hpp"
#include "runtime/cli/config_flags.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/pipeline/producer.hpp"
#include "runtime/task/codec.hpp"

#include <filesystem>
#include <future>
#include <iostream>
#include <mutex>
#include <unistd.h>

namespace sy::cli {

namespace {

struct send_options {
  config_flags flags;
  std::vector<std::string> headers;
  std::vector<std::string> json_headers;
  std::string payload;
  std::string priority = "normal";
  /// --file [KEY=]PATH
  std::vector<std::string> files;
  int wait_seconds = -1; // -1: do not wait
  bool json = false;
};

/// Follows the analysis `root` until its completion event or the deadline.
/// Returns the exit code.
int follow(broker::connection& conn, std::shared_ptr<std::promise<value>> done,
           const std::string& root, int seconds, bool json) {
  auto tasks = broker::kv_bucket::open(conn.shared_from_this(), pipeline::tasks_bucket);
  std::mutex mutex;
  std::map<std::string, task_status> latest;
  bool tty = isatty(STDERR_FILENO) && !json;
  std::optional<broker::kv_watcher> watcher;
  if (tasks && tty) {
    auto w = tasks->watch(root + ".*", [&](const broker::kv_entry& e) {
      std::lock_guard<std::mutex> guard{mutex};
      if (auto t = decode_task(e.value)) latest[t->uid] = t->status;
      std::map<task_status, int> counts;
      for (const auto& [_, s] : latest)
        counts[s]++;
      std::string line = "\r" + std::to_string(latest.size()) + " task(s):";
      for (const auto& [s, n] : counts)
        line += " " + std::to_string(n) + " " + std::string{to_string(s)};
      std::cerr << line << "   " << std::flush;
    });
    if (w) watcher.emplace(std::move(*w));
  }
  auto future = done->get_future();
  auto status = future.wait_for(std::chrono::seconds{seconds});
  watcher.reset();
  if (tty) std::cerr << '\n';
  if (status != std::future_status::ready) {
    if (json)
      std::cout << value{{"uid", root}, {"done", false}}.dump() << '\n';
    else
      std::cerr << "switchyard: analysis " << root << " not done after " << seconds << " s\n";
    return exit_timeout;
  }
  auto event = future.get();
  auto crashed = event.value("crashed", 0);
  if (json)
    std::cout << value{{"uid", root},
                       {"done", true},
                       {"finished", event.value("finished", 0)},
                       {"crashed", crashed}}
                     .dump()
              << '\n';
  else
    std::cout << "analysis " << root << " done: " << event.value("finished", 0) << " finished, "
              << crashed << " crashed\n";
  return crashed > 0 ? exit_negative : exit_ok;
}

int run_send(const send_options& opts) {
  auto loaded = opts.flags.load();
  if (!loaded) return usage_error(loaded.error().message);
  value headers = value::object();
  if (auto r = parse_headers(opts.headers, false, headers); !r)
    return usage_error(r.error().message);
  if (auto r = parse_headers(opts.json_headers, true, headers); !r)
    return usage_error(r.error().message);
  if (headers.empty()) return usage_error("a task needs at least one --header");
  value payload = value::object();
  if (!opts.payload.empty()) {
    payload = value::parse(opts.payload, nullptr, false);
    if (!payload.is_object()) return usage_error("--payload must be a JSON object");
  }
  auto prio = parse_priority(opts.priority);
  if (!prio) return usage_error("--priority must be high, normal or low");
  std::vector<pipeline::attachment> attachments;
  for (const auto& f : opts.files) {
    auto eq = f.find('=');
    pipeline::attachment a;
    a.path = eq == std::string::npos ? f : f.substr(eq + 1);
    std::error_code ec;
    auto is_dir = std::filesystem::is_directory(a.path, ec);
    a.name = std::filesystem::path{a.path}.lexically_normal().filename().string();
    if (a.name.empty())
      a.name = std::filesystem::path{a.path}.lexically_normal().parent_path().filename().string();
    if (is_dir) a.name += ".zip";
    a.key = eq == std::string::npos ? a.name : f.substr(0, eq);
    if (!is_dir && !std::filesystem::is_regular_file(a.path, ec))
      return usage_error("--file " + f + ": " + a.path + " is not a readable file or directory");
    if (a.key.empty() || payload.contains(a.key))
      return usage_error("--file " + f + ": payload key \"" + a.key + "\" is empty or taken");
    attachments.push_back(std::move(a));
  }
  auto conn = connect_client(loaded->config, "send");
  if (!conn) return usage_error(conn.error().message);
  auto t = make_task(std::move(headers), std::move(payload), *prio);
  auto done = std::make_shared<std::promise<value>>();
  // The event is read from SY_EVENTS through a consumer of our own, so a
  // broker reconnect while waiting loses nothing.
  std::unique_ptr<broker::pull_consumer> events;
  broker::consumer_spec spec;
  if (opts.wait_seconds >= 0) {
    spec.stream = pipeline::events_stream;
    spec.durable = "send-" + t.root_uid;
    spec.filter_subject = pipeline::analysis_event_subject(t.root_uid);
    spec.inactive_threshold = std::chrono::minutes{1};
    spec.lightweight = true; // one per waiting client: not worth replicating
    if (auto r = broker::ensure_consumer(**conn, spec); !r) return usage_error(r.error().message);
    auto once = std::make_shared<std::once_flag>();
    broker::pull_options popts;
    popts.stream = spec.stream;
    popts.consumer = spec.durable;
    popts.window = 16; // an analysis is announced once per completion
    popts.on_message = [done, once](broker::message m) {
      (void)m.ack();
      auto v = value::parse(m.data(), nullptr, false);
      std::call_once(*once, [&] { done->set_value(v); });
    };
    auto puller = broker::pull_consumer::start(*conn, std::move(popts));
    if (!puller) return usage_error(puller.error().message);
    events = std::move(*puller);
  }
  auto producer = pipeline::producer::open(*conn);
  if (!producer) return usage_error(producer.error().message);
  auto uid = producer->send(t, attachments);
  if (!uid) return usage_error(uid.error().message);
  if (opts.wait_seconds < 0) {
    std::cout << (opts.json ? value{{"uid", *uid}}.dump() : *uid) << '\n';
    return exit_ok;
  }
  if (!opts.json) std::cout << *uid << '\n';
  auto code = follow(**conn, done, t.root_uid, opts.wait_seconds, opts.json);
  (void)events->stop(std::chrono::seconds{2});
  (void)broker::delete_consumer(**conn, spec.stream, spec.durable);
  return code;
}

} // namespace

void add_send_command(CLI::App& app, int& result) {
  auto opts = std::make_shared<send_options>();
  auto cmd = app.add_subcommand("send", "Send a task; prints its uid");
  opts->flags.add_to(cmd);
  cmd->add_option("-H,--header", opts->headers, "Header key=value, value as a string (repeatable)");
  cmd->add_option("--header-json", opts->json_headers,
                  "Header key=JSON, e.g. size=20 or tags='[\"a\"]' (repeatable)");
  cmd->add_option("--payload", opts->payload, "Payload as a JSON object");
  cmd->add_option("--file", opts->files,
                  "Attach a file as a resource: [KEY=]PATH, the reference under payload key KEY "
                  "(default: the file name); a directory is attached as NAME.zip (repeatable)");
  cmd->add_option("--priority", opts->priority, "high, normal or low")
      ->check(CLI::IsMember({"high", "normal", "low"}));
  cmd->add_option("--wait", opts->wait_seconds,
                  "Follow the analysis until it is done (default 600 s; --wait=SECONDS); exit 0 "
                  "when every task finished, 1 when any crashed, 3 on timeout")
      ->expected(0, 1)
      ->default_str("600");
  cmd->add_flag("--json", opts->json, "Print JSON");
  cmd->callback([opts, &result] { result = run_send(*opts); });
}

} // namespace sy::cli
