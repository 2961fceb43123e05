#pragma once

#include "runtime/core/expected.hpp"
#include "runtime/plugin/consumer.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sy::plugin {

/// How to make a consumer named `name` (e.g. "sy.consumers.synthetic").
struct consumer_factory {
  std::string name;
  /// Checks the consumer's `config` table before anything starts; the error
  /// names the offending key. May be empty: every config is accepted.
  std::function<expected<void>(const value& config)> validate;
  /// Makes one instance per worker from the validated config.
  std::function<expected<std::unique_ptr<consumer>>(const value& config)> create;
  /// Where the factory came from: "built-in" or the plugin's file path.
  std::string origin = "built-in";
};

/// The plugins a node knows, by name. Filled once at start (built-ins, then
/// every plugin directory); read-only afterwards, so concurrent lookups are
/// safe once filling ended.
class registry {
public:
  /// Adds `factory`; a name that is already taken is an error naming both
  /// origins.
  expected<void> add(consumer_factory factory);

  /// Returns the factory named `name`, or nullptr.
  const consumer_factory* find_consumer(const std::string& name) const;

  /// The names of every consumer factory, sorted.
  std::vector<std::string> consumer_names() const;

private:
  std::map<std::string, consumer_factory> consumers_;
};

/// Adds switchyard's built-in plugins (`sy.consumers.noop`,
/// `sy.consumers.synthetic`) to `reg`.
void add_builtins(registry& reg);

} // namespace sy::plugin
