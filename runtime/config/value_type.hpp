#pragma once

// Internal to sy_config: how the values of one key are read and checked.

#include "runtime/config/node_config.hpp"
#include "runtime/config/source.hpp"
#include "runtime/core/expected.hpp"
#include "runtime/core/value.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <variant>
#include <vector>

namespace sy::config::detail {

/// A checked value on its way to its typed field. Integers of every width
/// travel as int64; string→string tables as a map.
using setting =
    std::variant<bool, std::int64_t, std::string, milliseconds, std::vector<std::string>,
                 std::map<std::string, std::string>, located_value, plugin_ref>;

/// The value as JSON: durations as text ("30s"), a plugin_ref as
/// `{"name": ..., "config": {...}}`.
sy::value to_json(const setting& s);

/// The key being read, for error messages of the form
/// `<where>: <label>key "<path>": <what>`.
struct field_ref {
  /// Where the key (or array element) was written.
  source where;
  /// "" or "[consumer] #2 ".
  std::string label;
  /// "log.level", "concurrency", "broker.urls[1]", "scheduler.config".
  std::string path;

  /// A key ("name") or element ("[1]") below this one, written at `at`.
  field_ref child(const std::string& suffix, source at) const;
  sy::error fail(const std::string& what) const;
  /// "expected <expectation>, got <got>" (";" before "got" when the
  /// expectation is itself a comma-separated list).
  sy::error mismatch(const std::string& expectation, const std::string& got) const;
};

/// Which strings a key accepts, and how to say so in an error message.
struct text_rule {
  /// Completes "expected ...": "a string", "one of file, memory".
  std::string expectation = "a string";
  /// Empty: any string.
  std::function<bool(std::string_view)> accepts;
};

/// Reads the values of one key. Implementations are immutable and shared.
class value_type {
public:
  virtual ~value_type() = default;

  /// Reads a value written in a TOML file.
  virtual expected<setting> from_toml(const toml::node& node, const field_ref& field) const = 0;

  /// Reads a value given as text by an environment variable or a flag. The
  /// default refuses: such keys can only be set in a file.
  virtual expected<setting> from_text(std::string_view text, const field_ref& field) const;
};

using type_ptr = std::shared_ptr<const value_type>;

/// true or false; from text also "true"/"false".
type_ptr boolean();
/// An integer in min..max.
type_ptr integer(std::int64_t min, std::int64_t max);
/// A string accepted by `rule`.
type_ptr text(text_rule rule = {});
/// A duration string ("30s", "1h30m") of at least `min`.
type_ptr duration(milliseconds min);
/// An array of strings, each accepted by `rule`; from text, comma-separated.
type_ptr text_list(text_rule rule);
/// A table of string values, each accepted by `rule`; merged item by item
/// across layers; from text, "name=value" pairs separated by commas.
type_ptr text_map(text_rule rule);
/// An array of tables, kept as JSON (consumer filters). Files only.
type_ptr table_list();
/// Any table, kept as JSON for a plugin. Files only.
type_ptr table();
/// A table { name = "...", config = {...} } choosing a plugin. Files only.
type_ptr plugin_choice();

} // namespace sy::config::detail
