#pragma once

#include "runtime/core/expected.hpp"

#include <map>
#include <memory>
#include <optional>
#include <spdlog/spdlog.h>
#include <string>
#include <string_view>

namespace sy::log {

/// How logging is set up for the process.
struct options {
  /// Level of every logger without an entry in `levels`.
  spdlog::level::level_enum level = spdlog::level::info;
  /// Per-subsystem overrides, e.g. {"broker": debug}.
  std::map<std::string, spdlog::level::level_enum> levels;
};

/// Returns the logger named `subsystem` ("router", "broker", ...; or
/// "<subsystem>.<identity>" for one consumer identity, which takes the
/// subsystem's level), creating it on first use. Every logger writes to stderr and to the sinks
/// added with `add_sink`. Thread-safe; the returned pointer stays valid for the process.
std::shared_ptr<spdlog::logger> get(std::string_view subsystem);

/// Applies `opts` to existing loggers and to those created later.
/// Thread-safe.
void setup(const options& opts);

/// Adds a sink every logger writes to from now on (e.g. the JetStream sink
/// that publishes to SY_LOGS). Thread-safe.
void add_sink(spdlog::sink_ptr sink);

/// Removes a sink added with `add_sink`. Thread-safe.
void remove_sink(const spdlog::sink_ptr& sink);

/// Parses trace, debug, info, warn, error, critical, off.
std::optional<spdlog::level::level_enum> parse_level(std::string_view text);

/// The name `parse_level` reads back ("warn", where spdlog itself says
/// "warning"). Used in SY_LOGS subjects and records.
std::string_view level_name(spdlog::level::level_enum level);

/// The accepted level names, comma separated, for error messages.
const char* level_names();

} // namespace sy::log
