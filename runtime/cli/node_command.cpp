#include "actors/node/node.hpp"
#include "runtime/cli/command.hpp"
#include "runtime/cli/config_flags.hpp"
#include "runtime/log/log.hpp"

namespace sy::cli {

namespace {

int run_node_command(const config_flags& flags) {
  auto loaded = flags.load();
  if (!loaded) return usage_error(loaded.error().message);
  apply_log_config(loaded->config.log);
  return actors::run_node(*loaded);
}

} // namespace

void apply_log_config(const config::log_options& opts) {
  log::options lopts;
  // Both were validated by the configuration schema.
  lopts.level = log::parse_level(opts.level).value_or(spdlog::level::info);
  for (const auto& [name, level] : opts.levels)
    lopts.levels[name] = log::parse_level(level).value_or(spdlog::level::info);
  log::setup(lopts);
}

void add_node_command(CLI::App& app, int& result) {
  auto flags = std::make_shared<config_flags>();
  auto cmd = app.add_subcommand(
      "node", "Run a node: routers, consumers and housekeeper as its configuration names them");
  flags->add_to(cmd);
  cmd->callback([flags, &result] { result = run_node_command(*flags); });
}

} // namespace sy::cli
