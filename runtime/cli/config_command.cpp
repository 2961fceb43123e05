#include "runtime/cli/command.hpp"
#include "runtime/cli/config_flags.hpp"

#include <iostream>

namespace sy::cli {

namespace {

struct config_show_options {
  config_flags flags;
  bool json = false;
};

int run_config_show(const config_show_options& opts) {
  auto loaded = opts.flags.load();
  if (!loaded) return usage_error(loaded.error().message);
  if (opts.json)
    std::cout << loaded->render_json().dump(2) << '\n';
  else
    std::cout << loaded->render_text();
  return exit_ok;
}

} // namespace

void add_config_command(CLI::App& app, int& result) {
  auto cmd = app.add_subcommand("config", "Inspect the node configuration");
  cmd->require_subcommand(1);
  auto opts = std::make_shared<config_show_options>();
  auto show = cmd->add_subcommand(
      "show", "Print the merged configuration and where each value came from (file:line, env, "
              "flag or default)");
  opts->flags.add_to(show);
  show->add_flag("--json", opts->json, "Print {section: {key: {value, source}}} as JSON");
  show->callback([opts, &result] { result = run_config_show(*opts); });
}

} // namespace sy::cli
