#include "runtime/pipeline/live_nodes.hpp"

#include "runtime/task/task.hpp"

namespace sy::pipeline {

bool live_node::serves(const std::string& identity) const {
  return concurrency(identity) > 0;
}

int live_node::concurrency(const std::string& identity) const {
  int sum = 0;
  for (const auto& c : record.value("consumers", value::array()))
    if (c.value("identity", "") == identity) sum += c.value("concurrency", 0);
  return sum;
}

expected<std::vector<live_node>> read_live_nodes(broker::kv_bucket& nodes) {
  auto entries = nodes.entries("node.>");
  if (!entries) return entries.error();
  std::vector<live_node> out;
  auto now = unix_now();
  for (const auto& e : *entries) {
    auto record = value::parse(e.value, nullptr, false);
    if (!record.is_object()) continue;
    auto name = record.value("node", e.key.substr(5));
    out.push_back({name, now - record.value("updated_at", now), std::move(record)});
  }
  return out;
}

std::string serving_nodes(const std::vector<live_node>& nodes, const std::string& identity) {
  std::string out;
  for (const auto& n : nodes)
    if (n.serves(identity)) out += (out.empty() ? "" : ", ") + n.name;
  return out;
}

} // namespace sy::pipeline
