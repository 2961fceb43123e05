#pragma once

#include "runtime/config/node_config.hpp"
#include "runtime/config/source.hpp"
#include "runtime/core/value.hpp"

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace sy::config {

/// Where the values of one [[consumer]] table came from.
struct consumer_sources {
  /// The `[[consumer]]` header (or inline table) itself.
  source table;
  /// By key ("concurrency"); a key not listed has its default.
  std::map<std::string, source> keys;
};

/// Where every value of a configuration came from. A key not listed has its
/// default.
struct config_sources {
  /// By "section.key"; each item of a table-valued key also by its own path
  /// ("log.levels.router"), since such tables merge item by item.
  std::map<std::string, source> keys;
  /// One entry per element of `node_config::consumers`, same order.
  std::vector<consumer_sources> consumers;
};

/// The result of `config::load`: the typed configuration and the provenance
/// of each of its values. A plain value; thread-compatible.
struct loaded_config {
  node_config config;
  config_sources sources;

  /// Where "section.key" (or "log.levels.<name>") got its value.
  source source_of(const std::string& key) const;

  /// Where `key` of consumer `index` (0-based) got its value.
  source consumer_source_of(std::size_t index, const std::string& key) const;

  /// The merged configuration as TOML: every key, defaults included, each
  /// line commented with its source (`# from ./node.toml:3`, `# default`,
  /// `# env SWITCHYARD_LOG_LEVEL`, `# flag log.level`), comments aligned.
  /// Reading the text back gives the same configuration.
  std::string render_text() const;

  /// The merged configuration as JSON:
  /// `{"log": {"level": {"value": "info", "source": "default"}, ...}, ...,
  ///   "consumer": [{"identity": {"value": ..., "source": ...}, ...}]}`.
  /// A table-valued key whose items came from several layers also has
  /// `"item_sources": {"router": "./node.toml:7", ...}`.
  sy::value render_json() const;
};

} // namespace sy::config
