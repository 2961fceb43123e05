#pragma once

// The entry point of a switchyard plugin library (docs/PLUGINS.md).
//
// A plugin is a shared library exporting one C symbol, `switchyard_plugin`,
// that returns a `sy_plugin_info`. The loader compares its `abi` string with
// its own before it touches anything else, then calls `factories` once.
// Define the symbol with `SWITCHYARD_PLUGIN(fn)`, where `fn` returns a
// `sy::plugin::factories`:
//
//   sy::plugin::factories my_plugin() {
//     sy::plugin::factories f;
//     f.rankers.push_back({"acme.rankers.severity", validate, create});
//     return f;
//   }
//   SWITCHYARD_PLUGIN(my_plugin)
//
// Plugins exchange C++ objects with the node (tasks, values, strings), so a
// plugin must be built against the same switchyard version's headers with
// the same C++ standard library ABI; the ABI string says both.

#include "runtime/plugin/factory.hpp"

#define SY_PLUGIN_STRINGIFY2(x) #x
#define SY_PLUGIN_STRINGIFY(x) SY_PLUGIN_STRINGIFY2(x)

#if defined(__GLIBCXX__)
#define SY_PLUGIN_STDLIB "libstdc++ cxx11-abi=" SY_PLUGIN_STRINGIFY(_GLIBCXX_USE_CXX11_ABI)
#elif defined(_LIBCPP_VERSION)
#define SY_PLUGIN_STDLIB "libc++ abi=" SY_PLUGIN_STRINGIFY(_LIBCPP_ABI_VERSION)
#else
#define SY_PLUGIN_STDLIB "unknown"
#endif

/// Bumped whenever a public plugin header changes in a way that breaks
/// plugins built against the old one.
#define SY_PLUGIN_ABI_REVISION 2

namespace sy::plugin {

/// The ABI string a plugin and the node must share.
inline constexpr const char* abi_string =
    "switchyard-plugin " SY_PLUGIN_STRINGIFY(SY_PLUGIN_ABI_REVISION) "; " SY_PLUGIN_STDLIB;

/// The name of the entry symbol.
inline constexpr const char* entry_symbol = "switchyard_plugin";

} // namespace sy::plugin

extern "C" {

/// What the entry symbol returns. Keep `abi` first: the loader reads it
/// before anything else.
struct sy_plugin_info {
  const char* abi;
  /// Everything the library provides; called once, after the ABI check.
  const sy::plugin::factories* (*factories)();
};

typedef const sy_plugin_info* (*sy_plugin_entry)();
}

/// Defines the entry symbol of a plugin library from `fn`, a function
/// returning `sy::plugin::factories`.
#define SWITCHYARD_PLUGIN(fn)                                                                      \
  extern "C" __attribute__((visibility("default"))) const sy_plugin_info* switchyard_plugin() {    \
    static const sy_plugin_info info{::sy::plugin::abi_string,                                     \
                                     []() -> const ::sy::plugin::factories* {                      \
                                       static const ::sy::plugin::factories made = fn();           \
                                       return &made;                                               \
                                     }};                                                           \
    return &info;                                                                                  \
  }
