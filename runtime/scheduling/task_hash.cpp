#include "runtime/scheduling/task_hash.hpp"

#include <cstdio>

namespace sy::scheduling {

namespace {

std::string fnv1a_hex(const std::string& text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

} // namespace

std::string task_hash(const task& t, const std::vector<std::string>& keys) {
  if (keys.empty()) return fnv1a_hex(value{{"headers", t.headers}, {"payload", t.payload}}.dump());
  value picked = value::object();
  for (const auto& key : keys) {
    auto dot = key.find('.');
    auto section = dot == std::string::npos ? std::string{"headers"} : key.substr(0, dot);
    auto name = dot == std::string::npos ? key : key.substr(dot + 1);
    const auto& from = section == "payload" ? t.payload : t.headers;
    if (name == "*")
      picked[section] = from;
    else
      picked[section + "." + name] = from.contains(name) ? from[name] : value{};
  }
  return fnv1a_hex(picked.dump());
}

std::string payload_digest(const task& t) {
  return fnv1a_hex(t.payload.dump());
}

} // namespace sy::scheduling
