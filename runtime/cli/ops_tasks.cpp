// `switchyard task`, `analysis`, `retry` and `cancel`: reading and repairing
// the task records of docs/PIPELINE.md.

#include "runtime/cli/command.hpp"
#include "runtime/cli/ops_common.hpp"
#include "runtime/ops/queues.hpp"
#include "runtime/ops/repair.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/task/codec.hpp"

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <map>

namespace sy::cli {

namespace {

using namespace std::chrono_literals;

/// "classifier", or "(routing)" for an unrouted record.
std::string receiver_text(const task& t) {
  return t.receiver.empty() ? "(routing)" : t.receiver;
}

// --- task ----------------------------------------------------------------

void print_summary(const task_record& r) {
  const auto& t = r.t;
  auto line = [](const char* label, const std::string& text) {
    if (!text.empty()) std::cout << std::left << std::setw(10) << label << text << '\n';
  };
  line("uid", t.uid);
  line("status", std::string{to_string(t.status)});
  line("receiver", receiver_text(t));
  line("root", t.root_uid);
  line("parent", t.parent_uid);
  line("orig", t.orig_uid);
  line("priority", std::string{to_string(t.priority)});
  line("attempt", std::to_string(t.attempt));
  line("updated", std::to_string(static_cast<long>(unix_now() - t.last_update)) + " s ago");
  line("error", t.error);
  line("headers", to_display_json(t.headers));
  line("payload", to_display_json(t.payload));
}

int run_task(const ops_flags& flags, const std::string& uid) {
  auto session = open_session(flags, "task");
  if (!session) return failed(session.error());
  auto record = find_record(*session->tasks, uid);
  if (!record)
    return record.error().code == errc::not_found ? negative(record.error().message)
                                                  : failed(record.error());
  if (flags.json)
    std::cout << to_json(record->t).dump() << '\n';
  else
    print_summary(*record);
  return exit_ok;
}

// --- analysis ------------------------------------------------------------

/// The records of one analysis arranged as a tree for display: an unrouted
/// record is the routing step, its forks (orig_uid) hang under it, and an
/// unrouted child hangs under the routed task that emitted it (parent_uid).
/// A record whose parent is gone (removed, or retried) is shown at the top.
class analysis_tree {
public:
  explicit analysis_tree(const std::vector<task_record>& records) {
    for (const auto& r : records)
      by_uid_[r.t.uid] = &r.t;
    for (const auto& r : records)
      children_[parent_of(r.t)].push_back(&r.t);
    for (auto& [_, list] : children_)
      std::sort(list.begin(), list.end(),
                [](const task* a, const task* b) { return a->last_update < b->last_update; });
  }

  void print(std::ostream& out) const { print_level(out, "", 0); }

private:
  std::string parent_of(const task& t) const {
    if (!t.receiver.empty() && by_uid_.count(t.orig_uid)) return t.orig_uid;
    if (by_uid_.count(t.parent_uid)) return t.parent_uid;
    return {};
  }

  void print_level(std::ostream& out, const std::string& parent, int depth) const {
    auto i = children_.find(parent);
    if (i == children_.end() || depth > 64) return;
    for (const task* t : i->second) {
      out << std::string(2 * static_cast<std::size_t>(depth), ' ') << t->uid << "  "
          << to_string(t->status) << "  " << receiver_text(*t);
      if (!t->error.empty()) out << "  error: " << t->error;
      out << '\n';
      print_level(out, t->uid, depth + 1);
    }
  }

  std::map<std::string, const task*> by_uid_;
  std::map<std::string, std::vector<const task*>> children_;
};

int run_analysis(const ops_flags& flags, const std::string& root) {
  if (!pipeline::is_key_token(root)) return usage_error("\"" + root + "\" is not a task uid");
  auto session = open_session(flags, "analysis");
  if (!session) return failed(session.error());
  auto records = ops::read_analysis(*session->tasks, root);
  if (!records) return failed(records.error());
  if (records->empty()) return negative(ops::no_records_message(root));
  if (flags.json)
    std::cout << ops::analysis_json(root, *records).dump() << '\n';
  else
    analysis_tree{*records}.print(std::cout);
  return exit_ok;
}

// --- retry ---------------------------------------------------------------

struct retry_options {
  ops_flags flags;
  std::string uid;
  bool crashed = false;
  std::string identity;
};

/// The crashed records to retry, or the exit code explaining why none.
expected<std::vector<task_record>> retry_targets(ops_session& session, const retry_options& opts) {
  if (!opts.uid.empty()) {
    auto record = find_record(*session.tasks, opts.uid);
    if (!record) return record.error();
    if (record->t.status != task_status::crashed)
      return make_error(errc::conflict, "task " + opts.uid + " is " +
                                            std::string{to_string(record->t.status)} +
                                            ", not Crashed: nothing to retry");
    return std::vector<task_record>{std::move(*record)};
  }
  auto out = ops::crashed_records(session, opts.identity);
  if (!out) return out.error();
  if (out->empty())
    return make_error(errc::not_found, "no crashed tasks for identity " + opts.identity);
  return out;
}

int run_retry(const retry_options& opts) {
  if (opts.uid.empty() == !(opts.crashed && !opts.identity.empty()))
    return usage_error("retry needs a task UID, or --crashed --identity IDENTITY");
  auto session = open_session(opts.flags, "retry");
  if (!session) return failed(session.error());
  auto targets = retry_targets(*session, opts);
  if (!targets) {
    auto code = targets.error().code;
    return code == errc::not_found || code == errc::conflict ? negative(targets.error().message)
                                                             : failed(targets.error());
  }
  value retried = value::array();
  for (const auto& crashed : *targets) {
    auto uid = ops::retry(*session, crashed);
    if (!uid) return failed(uid.error());
    retried.push_back({{"uid", crashed.t.uid}, {"retry_uid", *uid}});
    if (!opts.flags.json) std::cout << *uid << '\n';
  }
  if (opts.flags.json) std::cout << value{{"retried", retried}}.dump() << '\n';
  return exit_ok;
}

// --- cancel --------------------------------------------------------------

int run_cancel(const ops_flags& flags, const std::string& uid) {
  auto session = open_session(flags, "cancel");
  if (!session) return failed(session.error());
  if (auto r = ops::cancel(*session, uid); !r) {
    auto code = r.error().code;
    return code == errc::not_found || code == errc::conflict ? negative(r.error().message)
                                                             : failed(r.error());
  }
  std::cout << (flags.json ? value{{"uid", uid}, {"cancelled", true}}.dump() : "cancelled " + uid)
            << '\n';
  return exit_ok;
}

void add_task_command(CLI::App& app, int& result) {
  auto flags = std::make_shared<ops_flags>();
  auto uid = std::make_shared<std::string>();
  auto cmd = app.add_subcommand("task", "Show the record of one task; exit 1 if there is none");
  cmd->add_option("uid", *uid, "Task uid")->required();
  flags->add_to(cmd);
  cmd->callback([flags, uid, &result] { result = run_task(*flags, *uid); });
}

void add_analysis_command(CLI::App& app, int& result) {
  auto flags = std::make_shared<ops_flags>();
  auto root = std::make_shared<std::string>();
  auto cmd = app.add_subcommand(
      "analysis", "Show the task tree of an analysis; exit 1 if it has no record (a root is "
                  "recorded once it is routed, and the housekeeper removes the records of a "
                  "completed analysis)");
  cmd->add_option("root", *root, "Root task uid")->required();
  flags->add_to(cmd);
  cmd->callback([flags, root, &result] { result = run_analysis(*flags, *root); });
}

void add_retry_command(CLI::App& app, int& result) {
  auto opts = std::make_shared<retry_options>();
  auto cmd = app.add_subcommand(
      "retry", "Send crashed tasks again under new uids (printed); the analysis reopens and is "
               "announced again when it completes. Exit 1 if the task is not Crashed");
  cmd->add_option("uid", opts->uid, "Uid of a crashed task");
  cmd->add_flag("--crashed", opts->crashed, "Retry every crashed task of --identity");
  cmd->add_option("--identity", opts->identity, "The consumer identity, with --crashed");
  opts->flags.add_to(cmd);
  cmd->callback([opts, &result] { result = run_retry(*opts); });
}

void add_cancel_command(CLI::App& app, int& result) {
  auto flags = std::make_shared<ops_flags>();
  auto uid = std::make_shared<std::string>();
  auto cmd = app.add_subcommand(
      "cancel", "Record a task that has not ended as Crashed (\"cancelled by user\"), so its "
                "analysis can complete; exit 1 if it already ended or has no record");
  cmd->footer("A queued task is then dropped without running; a running one is not interrupted "
              "(its consumer sees the cancelled flag), but its outcome and children are "
              "discarded. A task that ends in the instant the cancellation reaches its node may "
              "keep its own outcome. An unrouted task is routed anyway.");
  cmd->add_option("uid", *uid, "Task uid")->required();
  flags->add_to(cmd);
  cmd->callback([flags, uid, &result] { result = run_cancel(*flags, *uid); });
}

} // namespace

void add_ops_task_commands(CLI::App& app, int& result) {
  add_task_command(app, result);
  add_analysis_command(app, result);
  add_retry_command(app, result);
  add_cancel_command(app, result);
}

} // namespace sy::cli
