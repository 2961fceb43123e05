#pragma once

#include "runtime/config/source.hpp"
#include "runtime/core/value.hpp"

#include <map>
#include <string>
#include <string_view>

namespace sy::config {

/// A TOML table or array kept as JSON for its owner to interpret: a plugin's
/// `config` table, a consumer's `filters`. The loader only converts it (TOML
/// datetimes become strings); the owner validates it and uses `locate` to
/// name file, key and line in its own error messages.
struct located_value {
  located_value() = default;
  explicit located_value(sy::value json, source origin = {}, std::string label = {},
                         std::string key = {})
      : json(std::move(json)), origin(std::move(origin)), label(std::move(label)),
        key(std::move(key)) {}

  /// The content, as JSON.
  sy::value json = sy::value::object();
  /// Where the table or array itself was written; a default if it was not.
  source origin;
  /// Where each nested key and array element was written, by path relative
  /// to `json`: "maxsize", "emit[0]", "emit[0].type".
  std::map<std::string, source> key_origins;
  /// Prefix naming the owner in messages: "" or "[consumer] #2 ".
  std::string label;
  /// The key holding this value: "config", "scheduler.config", "filters".
  std::string key;

  /// Where `path` was written; `origin` when the path is unknown or empty.
  const source& where(const std::string& path) const;

  /// The start of an error message about `path`, e.g.
  /// `./node.toml:14: [consumer] #1 key "scheduler.config.maxsize"`.
  /// Append ": <what is wrong>".
  std::string locate(const std::string& path) const;
};

} // namespace sy::config
