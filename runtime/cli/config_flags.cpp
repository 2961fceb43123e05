#include "runtime/cli/config_flags.hpp"

namespace sy::cli {

void config_flags::add_to(CLI::App* cmd) {
  cmd->add_option("-c,--config", files, "Configuration file (repeatable; later files win)");
  cmd->add_option("-s,--set", overrides,
                  "Override one key, e.g. --set log.level=debug (repeatable; wins over files "
                  "and SWITCHYARD_* variables)");
  cmd->add_option("--log-level", log_level, "Shortcut for --set log.level=LEVEL");
}

expected<config::loaded_config> config_flags::load() const {
  config::load_options opts;
  opts.env = config::process_environment();
  opts.implicit_files = config::default_implicit_files(opts.env);
  opts.config_files = files;
  opts.overrides = overrides;
  if (!log_level.empty()) opts.overrides.push_back("log.level=" + log_level);
  return config::load(opts);
}

} // namespace sy::cli
