#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace sy::broker {

/// What the latest revision of a key did.
enum class kv_operation { put, erase, purge };

const char* to_string(kv_operation op);

/// One revision of a key in a KV bucket.
struct kv_entry {
  std::string key;
  /// Value bytes; empty for `erase` and `purge`.
  std::string value;
  /// The stream sequence of this revision; pass it to `update` for
  /// compare-and-set.
  std::uint64_t revision = 0;
  /// When the revision was written.
  std::chrono::system_clock::time_point created;
  kv_operation operation = kv_operation::put;
};

} // namespace sy::broker
