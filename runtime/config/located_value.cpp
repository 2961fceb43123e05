#include "runtime/config/located_value.hpp"

namespace sy::config {

const source& located_value::where(const std::string& path) const {
  auto i = key_origins.find(path);
  return i == key_origins.end() ? origin : i->second;
}

std::string located_value::locate(const std::string& path) const {
  auto full = path.empty() ? key : path.front() == '[' ? key + path : key + "." + path;
  return where(path).to_string() + ": " + label + "key \"" + full + "\"";
}

} // namespace sy::config
