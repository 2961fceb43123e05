#pragma once

#include "runtime/core/expected.hpp"
#include "runtime/plugin/factory.hpp"

#include <map>
#include <string>
#include <vector>

namespace sy::plugin {

/// The plugins a node knows, by kind and name. Filled once at start
/// (built-ins, then every plugin directory); read-only afterwards, so
/// concurrent lookups are safe once filling ended.
class registry {
public:
  /// Adds a factory; a name already taken (for the same kind) is an error
  /// naming both origins.
  expected<void> add(consumer_factory f);
  expected<void> add(ranker_factory f);
  expected<void> add(scheduler_factory f);

  /// Adds everything `all` holds, all or nothing.
  expected<void> add(const factories& all);

  /// The factory named `name`, or nullptr.
  const consumer_factory* find_consumer(const std::string& name) const;
  const ranker_factory* find_ranker(const std::string& name) const;
  const scheduler_factory* find_scheduler(const std::string& name) const;

  /// "a, b, c": the sorted names of one kind, for error messages.
  std::string consumer_names() const;
  std::string ranker_names() const;
  std::string scheduler_names() const;

private:
  std::map<std::string, consumer_factory> consumers_;
  std::map<std::string, ranker_factory> rankers_;
  std::map<std::string, scheduler_factory> schedulers_;
};

/// Adds switchyard's built-in plugins to `reg`: consumers
/// `sy.consumers.noop` and `sy.consumers.synthetic`, rankers
/// `sy.rankers.priority`, `sy.rankers.age` and `sy.rankers.grace_period`,
/// schedulers `sy.schedulers.fifo`, `sy.schedulers.priority_queue` and `sy.schedulers.periodic`.
void add_builtins(registry& reg);

} // namespace sy::plugin
