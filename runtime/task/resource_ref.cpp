#include "runtime/task/resource_ref.hpp"

namespace sy {

namespace {

constexpr const char* marker = "sy_resource";

void collect(const value& v, std::vector<resource_ref>& out) {
  if (auto ref = as_resource(v)) {
    out.push_back(std::move(*ref));
    return;
  }
  if (v.is_object() || v.is_array())
    for (const auto& item : v)
      collect(item, out);
}

} // namespace

value to_value(const resource_ref& ref) {
  value inner{{"name", ref.name},
              {"bucket", ref.bucket},
              {"object", ref.object},
              {"size", ref.size},
              {"sha256", ref.sha256}};
  if (!ref.metadata.empty()) inner["metadata"] = ref.metadata;
  return value{{marker, std::move(inner)}};
}

std::optional<resource_ref> as_resource(const value& v) {
  if (!v.is_object() || v.size() != 1 || !v.contains(marker)) return std::nullopt;
  const auto& inner = v[marker];
  if (!inner.is_object() || !inner.contains("object") || !inner["object"].is_string())
    return std::nullopt;
  resource_ref ref;
  ref.name = inner.value("name", "");
  ref.bucket = inner.value("bucket", "sy_resources");
  ref.object = inner["object"].get<std::string>();
  ref.size = inner.value("size", std::uint64_t{0});
  ref.sha256 = inner.value("sha256", "");
  if (inner.contains("metadata") && inner["metadata"].is_object())
    for (const auto& [k, m] : inner["metadata"].items())
      if (m.is_string()) ref.metadata[k] = m.get<std::string>();
  return ref;
}

std::vector<resource_ref> find_resources(const value& payload) {
  std::vector<resource_ref> out;
  collect(payload, out);
  return out;
}

} // namespace sy
