// A plugin whose consumer takes a name a built-in already has.
#include "runtime/plugin/abi.hpp"

namespace {

sy::plugin::factories make() {
  sy::plugin::factories f;
  f.consumers.push_back({"sy.consumers.noop", nullptr,
                         [](const sy::value&) -> sy::expected<std::unique_ptr<sy::consumer>> {
                           return sy::make_error(sy::errc::plugin, "never made");
                         }});
  return f;
}

} // namespace

SWITCHYARD_PLUGIN(make)
