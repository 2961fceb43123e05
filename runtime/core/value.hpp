#pragma once

#include <nlohmann/json.hpp>

namespace sy {

/// A header or payload value: any msgpack value (nil, bool, integer, float,
/// string, binary, array, map with string keys). Backed by nlohmann::json,
/// whose `binary` kind holds msgpack `bin` data.
using value = nlohmann::json;

/// Returns `v` as JSON text for humans: binary data becomes a base64 string.
/// `indent` < 0 prints on one line.
std::string to_display_json(const value& v, int indent = -1);

/// Returns `v` with every binary value replaced by its base64 string.
value to_display_value(const value& v);

/// Encodes `bytes` as standard base64 with padding.
std::string base64_encode(const std::vector<std::uint8_t>& bytes);

} // namespace sy
