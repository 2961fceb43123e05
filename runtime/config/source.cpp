#include "runtime/config/source.hpp"

namespace sy::config {

std::string source::to_string() const {
  switch (type) {
  case kind::file:
    return name + ":" + std::to_string(line);
  case kind::env:
    return "env " + name;
  case kind::flag:
    return "flag " + name;
  case kind::default_value:
    break;
  }
  return name.empty() ? "default" : "default (" + name + ")";
}

} // namespace sy::config
