#include "runtime/log/log.hpp"

#include <mutex>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace sy::log {

namespace {

struct state {
  std::mutex mutex;
  std::shared_ptr<spdlog::sinks::dist_sink_mt> sinks = [] {
    auto dist = std::make_shared<spdlog::sinks::dist_sink_mt>();
    dist->add_sink(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    return dist;
  }();
  options opts;

  /// The level of `name`, else of its subsystem (`consumer` for
  /// `consumer.classifier`), else the default.
  spdlog::level::level_enum level_of(const std::string& name) const {
    auto i = opts.levels.find(name);
    if (i == opts.levels.end()) i = opts.levels.find(name.substr(0, name.find('.')));
    return i == opts.levels.end() ? opts.level : i->second;
  }
};

state& global() {
  static state s;
  return s;
}

} // namespace

std::shared_ptr<spdlog::logger> get(std::string_view subsystem) {
  auto& s = global();
  std::string name{subsystem};
  if (auto existing = spdlog::get(name)) return existing;
  std::lock_guard<std::mutex> guard{s.mutex};
  if (auto existing = spdlog::get(name)) // created while we waited
    return existing;
  auto logger = std::make_shared<spdlog::logger>(name, s.sinks);
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
  logger->set_level(s.level_of(name));
  logger->flush_on(spdlog::level::warn);
  spdlog::register_logger(logger);
  return logger;
}

void setup(const options& opts) {
  auto& s = global();
  std::lock_guard<std::mutex> guard{s.mutex};
  s.opts = opts;
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& logger) {
    logger->set_level(s.level_of(logger->name()));
  });
}

void add_sink(spdlog::sink_ptr sink) {
  global().sinks->add_sink(std::move(sink));
}

void remove_sink(const spdlog::sink_ptr& sink) {
  global().sinks->remove_sink(sink);
}

namespace {

using namespace spdlog::level;

constexpr std::pair<std::string_view, level_enum> level_table[] = {
    {"trace", trace}, {"debug", debug},       {"info", info}, {"warn", warn},
    {"error", err},   {"critical", critical}, {"off", off},
};

} // namespace

std::optional<spdlog::level::level_enum> parse_level(std::string_view text) {
  for (const auto& [name, level] : level_table)
    if (name == text) return level;
  return std::nullopt;
}

std::string_view level_name(spdlog::level::level_enum level) {
  for (const auto& [name, l] : level_table)
    if (l == level) return name;
  return "off";
}

const char* level_names() {
  return "trace, debug, info, warn, error, critical, off";
}

} // namespace sy::log
