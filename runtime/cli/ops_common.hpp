#pragma once

#include "runtime/broker/connection.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "runtime/cli/config_flags.hpp"
#include "runtime/core/value.hpp"
#include "runtime/pipeline/live_nodes.hpp"
#include "runtime/task/task.hpp"

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

/// Helpers shared by the operations commands (`list`, `task`, `analysis`,
/// `retry`, `cancel`, `delete`): each reads the node configuration to find
/// the broker, as `send` does, and reads or repairs the records of
/// docs/PIPELINE.md. Blocking; for the command line only.
namespace sy::cli {

/// The flags every operations command takes: the shared configuration
/// flags and `--json`.
struct ops_flags {
  config_flags config;
  bool json = false;

  /// Adds the flags to `cmd`; the struct must outlive the parse.
  void add_to(CLI::App* cmd);
};

/// A connection and the three buckets of the layout.
struct ops_session {
  std::shared_ptr<broker::connection> conn;
  std::shared_ptr<broker::kv_bucket> tasks;
  std::shared_ptr<broker::kv_bucket> binds;
  std::shared_ptr<broker::kv_bucket> nodes;
};

/// Loads the configuration, connects and opens the buckets. A missing
/// bucket means no node ever ran against this broker: the error says so.
expected<ops_session> open_session(const ops_flags& flags, const std::string& command);

/// A task record read from `sy_tasks`.
struct task_record {
  std::string key;
  std::uint64_t revision = 0;
  task t;
};

/// Every decodable record whose key matches `pattern`; undecodable ones are
/// skipped (the housekeeper ignores them too).
expected<std::vector<task_record>> read_records(broker::kv_bucket& tasks,
                                                const std::string& pattern);

/// The record of task `uid` (key `*.<uid>`); `errc::not_found` if there is
/// none, `errc::invalid_input` if `uid` cannot be a key token.
expected<task_record> find_record(broker::kv_bucket& tasks, const std::string& uid);

using pipeline::live_node;
using pipeline::read_live_nodes;

/// Prints `rows` as aligned columns (the first row is the heading).
void print_table(const std::vector<std::vector<std::string>>& rows);

/// Prints "switchyard: message" to stderr and returns exit_negative.
int negative(const std::string& message);

/// Prints the error and returns exit_usage (usage, configuration, input,
/// broker unreachable: README "Exit codes").
int failed(const error& e);

void add_ops_task_commands(CLI::App& app, int& result);
void add_ops_identity_commands(CLI::App& app, int& result);
void add_schedule_commands(CLI::App& app, int& result);
void add_resource_commands(CLI::App& app, int& result);

} // namespace sy::cli
