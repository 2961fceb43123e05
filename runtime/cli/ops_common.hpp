#pragma once

#include "runtime/broker/connection.hpp"
#include "runtime/cli/config_flags.hpp"
#include "runtime/core/value.hpp"
#include "runtime/ops/session.hpp"
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

using ops::find_record;
using ops::read_records;
using ops::task_record;
using ops_session = ops::session;

/// Loads the configuration, connects and opens the buckets. A missing
/// bucket means no node ever ran against this broker: the error says so.
expected<ops_session> open_session(const ops_flags& flags, const std::string& command);

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
