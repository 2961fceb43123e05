#pragma once

// Internal to sy_config: the bridge between toml++ nodes, JSON and TOML text.

#include "runtime/config/source.hpp"
#include "runtime/core/value.hpp"

#include <map>
#include <string>
#include <toml++/toml.h>

namespace sy::config::detail {

/// The file position of a toml++ node or key.
source to_source(const toml::source_region& region);

/// Converts `node` to JSON: tables → objects, arrays → arrays, scalars →
/// scalars, dates and times → their TOML text ("1979-05-27T07:32:00Z").
/// When `origins` is given, records where every nested key and array element
/// was written, by path below `prefix` ("emit[0].type").
sy::value to_json(const toml::node& node, std::map<std::string, source>* origins = nullptr,
                  const std::string& prefix = "");

/// `key` as a TOML key: bare when it can be, quoted otherwise.
std::string toml_key(const std::string& key);

/// Writes `v` as an inline TOML value: `{ a = 1, b = ["x"] }`. Null, which
/// TOML lacks, is written as `""`.
std::string to_toml_text(const sy::value& v);

/// A short rendering of a TOML value for "got ..." in error messages; long
/// values are cut to about 60 characters.
std::string describe(const toml::node& node);

} // namespace sy::config::detail
