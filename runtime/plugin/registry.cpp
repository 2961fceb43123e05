#include "runtime/plugin/registry.hpp"

namespace sy::plugin {

expected<void> registry::add(consumer_factory factory) {
  auto [i, added] = consumers_.emplace(factory.name, factory);
  if (!added)
    return make_error(errc::plugin, "consumer \"" + factory.name + "\" from " + factory.origin +
                                        " is already provided by " + i->second.origin);
  return {};
}

const consumer_factory* registry::find_consumer(const std::string& name) const {
  auto i = consumers_.find(name);
  return i == consumers_.end() ? nullptr : &i->second;
}

std::vector<std::string> registry::consumer_names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : consumers_)
    out.push_back(name);
  return out;
}

} // namespace sy::plugin
