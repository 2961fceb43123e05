#include "runtime/core/expected.hpp"

namespace sy {

const char* to_string(errc code) {
  switch (code) {
  case errc::invalid_input:
    return "invalid input";
  case errc::config:
    return "configuration error";
  case errc::not_found:
    return "not found";
  case errc::conflict:
    return "conflict";
  case errc::unavailable:
    return "unavailable";
  case errc::io:
    return "i/o error";
  case errc::plugin:
    return "plugin error";
  case errc::internal:
    return "internal error";
  }
  return "unknown error";
}

} // namespace sy
