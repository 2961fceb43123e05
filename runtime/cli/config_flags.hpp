#pragma once

#include "runtime/config/load.hpp"

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace sy::cli {

/// The flags every command that reads the node configuration shares:
/// `--config FILE` (repeatable), `--set section.key=value` (repeatable) and
/// `--log-level LEVEL` (a shortcut for `--set log.level=LEVEL`).
struct config_flags {
  std::vector<std::string> files;
  std::vector<std::string> overrides;
  std::string log_level;

  /// Adds the flags to `cmd`; the struct must outlive the parse.
  void add_to(CLI::App* cmd);

  /// Loads the layered configuration (DESIGN §7) with these flags and the
  /// process environment.
  expected<config::loaded_config> load() const;
};

} // namespace sy::cli
