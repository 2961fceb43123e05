#include "runtime/core/value.hpp"

namespace sy {

std::string base64_encode(const std::vector<std::uint8_t>& bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  if (i < bytes.size()) {
    uint32_t n = bytes[i] << 16;
    bool two = i + 1 < bytes.size();
    if (two) n |= bytes[i + 1] << 8;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += two ? alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

value to_display_value(const value& v) {
  switch (v.type()) {
  case value::value_t::binary:
    return base64_encode(v.get_binary());
  case value::value_t::array: {
    value out = value::array();
    for (const auto& x : v)
      out.push_back(to_display_value(x));
    return out;
  }
  case value::value_t::object: {
    value out = value::object();
    for (const auto& [k, x] : v.items())
      out[k] = to_display_value(x);
    return out;
  }
  default:
    return v;
  }
}

std::string to_display_json(const value& v, int indent) {
  return to_display_value(v).dump(indent, ' ', false, value::error_handler_t::replace);
}

} // namespace sy
