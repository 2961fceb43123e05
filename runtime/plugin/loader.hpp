#pragma once

#include "runtime/core/expected.hpp"
#include "runtime/plugin/registry.hpp"

#include <string>
#include <vector>

namespace sy::plugin {

/// Loads the plugin library at `path` into `reg`: `dlopen(RTLD_NOW |
/// RTLD_LOCAL)`, the entry symbol `switchyard_plugin`, the ABI string, then
/// every factory it provides (all or none), each with `origin` = `path`.
/// Errors (errc::plugin) name the file and the reason: not a loadable shared
/// library (with the loader's own message), no entry symbol, another ABI, a
/// name already taken. The library is never unloaded: objects it made may
/// live until the process ends.
expected<void> load_library(const std::string& path, registry& reg);

/// Loads every `*.so` file directly inside each of `dirs`, in name order.
/// A directory that does not exist or cannot be read is an error, as is any
/// library that fails to load.
expected<void> load_directories(const std::vector<std::string>& dirs, registry& reg);

} // namespace sy::plugin
