#pragma once

#include "runtime/core/expected.hpp"
#include "runtime/task/task.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace sy {

/// The wire format version written as key "v".
inline constexpr int wire_version = 1;

/// Bounds on what `decode_task` accepts; anything beyond is an error, never
/// an allocation the input asked for.
struct decode_limits {
  /// Largest accepted message. NATS's default max_payload is 1 MiB.
  std::size_t max_bytes = 8 * 1024 * 1024;
  /// Deepest nesting of arrays and maps in headers and payload.
  std::size_t max_depth = 64;
};

/// Encodes `t` as a msgpack map with string keys (DESIGN §3), followed by the
/// task's unknown fields exactly as they were read. Never fails.
std::string encode(const task& t);

/// Decodes a task written by `encode` or by any client following the wire
/// format. Required: a map with a string `uid` and a map `headers`; missing
/// optional fields take their defaults (`root_uid` defaults to `uid`).
/// Truncated, oversized, garbage or ill-typed input gives an invalid_input
/// error naming the field; nothing is thrown.
expected<task> decode_task(std::string_view bytes, const decode_limits& limits = {});

/// The task as JSON for humans and the HTTP API: every field by its DESIGN
/// name, binary values as base64 strings, unknown fields under "unknown"
/// as base64 msgpack.
value to_json(const task& t);

/// Reads a task from its JSON form (as `to_json` writes it, or a subset:
/// `headers` is required). Missing `uid` → a new one.
expected<task> task_from_json(const value& json);

} // namespace sy
