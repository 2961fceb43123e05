#pragma once

#include "runtime/core/value.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sy {

/// A file attached to a task: a payload value `{"sy_resource": {...}}`
/// naming an object in a JetStream object store (docs/RESOURCES.md). The
/// task carries only this reference; passing it on to a child task passes
/// the file on without copying it.
struct resource_ref {
  /// The file name the producer gave, e.g. "sample.exe".
  std::string name;
  /// The object store bucket, "sy_resources" unless stated.
  std::string bucket = "sy_resources";
  /// The object's name in the bucket: a uid chosen by the producer.
  std::string object;
  std::uint64_t size = 0;
  /// "SHA-256=" and the base64url digest, as the object store records it.
  std::string sha256;
  /// Free-form metadata given by the producer.
  std::map<std::string, std::string> metadata;
};

/// The payload value of a reference.
value to_value(const resource_ref& ref);

/// The reference a payload value holds; none if it is not a reference (or
/// a malformed one: no object).
std::optional<resource_ref> as_resource(const value& v);

/// Every reference in `payload`, nested objects and arrays included.
std::vector<resource_ref> find_resources(const value& payload);

} // namespace sy
