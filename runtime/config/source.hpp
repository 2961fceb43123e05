#pragma once

#include <string>

namespace sy::config {

/// Where a configuration value came from: its provenance. Every value of a
/// loaded configuration carries one, so that errors and `config show` can say
/// which file line, environment variable or flag set it.
struct source {
  enum class kind { default_value, file, env, flag };

  kind type = kind::default_value;
  /// File path, environment variable name or flag key ("log.level"); for a
  /// default, optionally the key it was taken from ("broker.max_deliver").
  std::string name;
  /// 1-based position in `name` when `type` is `file`; 0 otherwise.
  int line = 0;
  int column = 0;

  /// "./node.toml:12", "env SWITCHYARD_LOG_LEVEL", "flag log.level",
  /// "default" or "default (broker.max_deliver)". This is the prefix of every
  /// error message about the value.
  std::string to_string() const;
};

inline source file_source(std::string path, int line, int column) {
  return source{source::kind::file, std::move(path), line, column};
}
inline source env_source(std::string variable) {
  return source{source::kind::env, std::move(variable), 0, 0};
}
inline source flag_source(std::string key) {
  return source{source::kind::flag, std::move(key), 0, 0};
}

} // namespace sy::config
