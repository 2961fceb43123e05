#pragma once

#include "runtime/core/expected.hpp"
#include "runtime/core/value.hpp"
#include "runtime/plugin/consumer.hpp"
#include "runtime/plugin/ranker.hpp"
#include "runtime/plugin/scheduler.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sy::plugin {

/// How to make a plugin object of type `T` (a consumer, ranker or
/// scheduler) named `name`, e.g. "acme.rankers.severity". Names are global
/// per kind: use a prefix of your own (`sy.` is switchyard's).
template <class T> struct factory {
  std::string name;
  /// Checks the object's `config` table (from the node config) before
  /// anything starts; the error names the offending key. May be empty:
  /// every config is accepted.
  std::function<expected<void>(const value& config)> validate;
  /// Makes one object from a validated config. Consumers: one per worker;
  /// rankers and schedulers: one per queue.
  std::function<expected<std::unique_ptr<T>>(const value& config)> create;
  /// Where the factory came from: "built-in" or the plugin's file path (set
  /// by the loader).
  std::string origin = "built-in";
};

using consumer_factory = factory<consumer>;
using ranker_factory = factory<ranker>;
using scheduler_factory = factory<scheduler>;

/// Everything one plugin library provides.
struct factories {
  std::vector<consumer_factory> consumers;
  std::vector<ranker_factory> rankers;
  std::vector<scheduler_factory> schedulers;
};

} // namespace sy::plugin
