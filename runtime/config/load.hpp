#pragma once

#include "runtime/config/loaded_config.hpp"
#include "runtime/core/expected.hpp"

#include <map>
#include <string>
#include <vector>

/// Configuration layering (DESIGN §7, docs/CONFIG.md). Later layers win:
///   1. `implicit_files`, in order (absent ones are skipped);
///   2. the file named by `$SWITCHYARD_CONFIG` (must exist);
///   3. `config_files` (`--config`), in order (each must exist);
///   4. environment variables `SWITCHYARD_<SECTION>_<KEY>`;
///   5. `overrides` ("section.key=value"), in order.
/// Sections merge key by key; the [[consumer]] list of a later file replaces
/// the whole list of an earlier one.
namespace sy::config {

/// Everything `load` reads, injectable so that tests need neither the real
/// environment nor files outside a temporary directory.
struct load_options {
  /// Files read first, lowest precedence first; an absent file is skipped.
  std::vector<std::string> implicit_files;
  /// Files named on the command line (`--config`), read after
  /// `$SWITCHYARD_CONFIG`; each must exist.
  std::vector<std::string> config_files;
  /// The environment. `SWITCHYARD_CONFIG` names a file; every other
  /// `SWITCHYARD_*` variable must name a key.
  std::map<std::string, std::string> env;
  /// Command-line overrides "section.key=value", applied last, in order.
  std::vector<std::string> overrides;
};

/// Reads, merges and validates the configuration layers. Fails on the first
/// problem, with a message naming file and line (or variable, or flag) and
/// key: `errc::not_found` for a missing explicit file, `errc::io` for an
/// unreadable one, `errc::config` for everything else. Thread-safe.
expected<loaded_config> load(const load_options& options);

/// The standard implicit files: /etc/switchyard/switchyard.toml,
/// $HOME/.config/switchyard/switchyard.toml (when `env` has HOME) and
/// ./switchyard.toml.
std::vector<std::string> default_implicit_files(const std::map<std::string, std::string>& env);

/// The process environment (`environ`) as a map, for `load_options::env`.
std::map<std::string, std::string> process_environment();

} // namespace sy::config
