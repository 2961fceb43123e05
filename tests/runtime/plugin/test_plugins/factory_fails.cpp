// A plugin whose consumer cannot be created, as when a model file is missing.
#include "runtime/plugin/abi.hpp"

namespace {

sy::plugin::factories make() {
  sy::plugin::factories f;
  f.consumers.push_back({"test.consumers.fails", nullptr,
                         [](const sy::value&) -> sy::expected<std::unique_ptr<sy::consumer>> {
                           return sy::make_error(sy::errc::plugin,
                                                 "cannot open model file /nonexistent/model.bin");
                         }});
  return f;
}

} // namespace

SWITCHYARD_PLUGIN(make)
