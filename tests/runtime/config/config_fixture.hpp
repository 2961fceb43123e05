#pragma once

// A temporary directory for configuration files, and shortcuts to load them.

#include "runtime/config/load.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace sy::config {

struct config_fixture {
  std::filesystem::path dir;

  config_fixture() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sy-config-XXXXXX").string();
    dir = ::mkdtemp(pattern.data());
  }

  ~config_fixture() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  /// Writes `text` to `name` in the temporary directory; returns its path.
  std::string write(const std::string& name, const std::string& text) {
    auto path = (dir / name).string();
    std::ofstream(path) << text;
    return path;
  }

  /// Loads `text` as the --config file node.toml, after `options`' files.
  expected<loaded_config> load_text(const std::string& text, load_options options = {}) {
    options.config_files.push_back(write("node.toml", text));
    return load(options);
  }

  /// The message of the error `load` reports, or "loaded" when it succeeds.
  static std::string error_of(const expected<loaded_config>& result) {
    return result ? "loaded" : result.error().message;
  }

  std::string error_of(const std::string& text, load_options options = {}) {
    return error_of(load_text(text, std::move(options)));
  }
};

} // namespace sy::config
