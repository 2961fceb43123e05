#pragma once

#include "runtime/config/node_config.hpp"

#include <CLI/CLI.hpp>
#include <string>

namespace sy::cli {

/// Exit codes shared by every subcommand (README "Exit codes").
enum exit_code : int {
  exit_ok = 0,       ///< done, or a positive answer
  exit_negative = 1, ///< a negative answer: no match, a task crashed
  exit_usage = 2,    ///< bad arguments, configuration or input
  exit_timeout = 3,  ///< waited and gave up
};

/// Each subcommand adds itself to `app`; when it is selected its callback
/// stores its exit code in `result`.
void add_match_command(CLI::App& app, int& result);
void add_config_command(CLI::App& app, int& result);
void add_node_command(CLI::App& app, int& result);
void add_send_command(CLI::App& app, int& result);
void add_ops_commands(CLI::App& app, int& result);
void add_bench_command(CLI::App& app, int& result);
void add_logs_command(CLI::App& app, int& result);
void add_simulate_command(CLI::App& app, int& result);

/// Applies the [log] section to every logger.
void apply_log_config(const config::log_options& opts);

/// Prints `message` to stderr as "switchyard: message" and returns exit_usage.
int usage_error(const std::string& message);

} // namespace sy::cli
