#include "runtime/plugin/loader.hpp"

#include "runtime/plugin/abi.hpp"

#include <algorithm>
#include <dlfcn.h>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <system_error>

namespace sy::plugin {

namespace {

error failed(const std::string& path, const std::string& why) {
  return make_error(errc::plugin, "plugin " + path + ": " + why);
}

/// True when the file starts like an ELF object; dlopen's own message for
/// anything else ("invalid ELF header") is less plain.
bool looks_like_elf(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  char magic[4] = {};
  in.read(magic, 4);
  return in && std::string_view{magic, 4} == "\x7f"
                                             "ELF";
}

template <class T> void set_origin(std::vector<factory<T>>& fs, const std::string& path) {
  for (auto& f : fs)
    f.origin = path;
}

} // namespace

expected<void> load_library(const std::string& path, registry& reg) {
  if (!looks_like_elf(path)) return failed(path, "not a shared library (no ELF header)");
  // Never dlclose'd: the node may hold objects and code of the library until
  // it exits.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return failed(path, std::string{"cannot load: "} + (why ? why : "unknown dlopen error"));
  }
  dlerror();
  auto entry = reinterpret_cast<sy_plugin_entry>(dlsym(handle, entry_symbol));
  if (entry == nullptr)
    return failed(path, std::string{"no entry symbol \""} + entry_symbol +
                            "\" (define it with SWITCHYARD_PLUGIN)");
  const sy_plugin_info* info = entry();
  if (info == nullptr || info->abi == nullptr)
    return failed(path, "the entry symbol returned no plugin info");
  if (std::string_view{info->abi} != abi_string)
    return failed(path, std::string{"ABI mismatch: built for \""} + info->abi +
                            "\", this node needs \"" + abi_string +
                            "\"; rebuild the plugin against this switchyard's SDK");
  const factories* made = info->factories ? info->factories() : nullptr;
  if (made == nullptr) return failed(path, "the plugin provides no factory table");
  auto own = *made;
  set_origin(own.consumers, path);
  set_origin(own.rankers, path);
  set_origin(own.schedulers, path);
  if (own.consumers.empty() && own.rankers.empty() && own.schedulers.empty())
    return failed(path, "the plugin provides no consumer, ranker or scheduler");
  if (auto r = reg.add(own); !r) return failed(path, r.error().message);
  return {};
}

expected<void> load_directories(const std::vector<std::string>& dirs, registry& reg) {
  namespace fs = std::filesystem;
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
      return make_error(errc::plugin,
                        "plugin directory " + dir + ": " + (ec ? ec.message() : "not a directory"));
    std::vector<std::string> libraries;
    for (fs::directory_iterator i{dir, ec}, end; !ec && i != end; i.increment(ec))
      if (i->path().extension() == ".so" && !i->is_directory()) libraries.push_back(i->path());
    if (ec) return make_error(errc::plugin, "plugin directory " + dir + ": " + ec.message());
    std::sort(libraries.begin(), libraries.end());
    for (const auto& path : libraries)
      if (auto r = load_library(path, reg); !r) return r;
  }
  return {};
}

} // namespace sy::plugin
