// A plugin built for another ABI: its entry returns a foreign ABI string and
// a table the loader must never call.
#include "runtime/plugin/abi.hpp"

#include <cstdlib>

extern "C" __attribute__((visibility("default"))) const sy_plugin_info* switchyard_plugin() {
  static const sy_plugin_info info{"switchyard-plugin 0; libstdc++ cxx11-abi=0",
                                   []() -> const sy::plugin::factories* { std::abort(); }};
  return &info;
}
