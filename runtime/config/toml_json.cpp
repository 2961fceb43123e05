#include "runtime/config/toml_json.hpp"

#include <cctype>
#include <sstream>

namespace sy::config::detail {

namespace {

std::string child_path(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

/// Dates, times and date-times as TOML writes them.
std::string date_text(const toml::node& node) {
  std::ostringstream out;
  if (auto d = node.as_date()) out << d->get();
  if (auto t = node.as_time()) out << t->get();
  if (auto dt = node.as_date_time()) out << dt->get();
  return out.str();
}

sy::value table_to_json(const toml::table& table, std::map<std::string, source>* origins,
                        const std::string& prefix) {
  auto out = sy::value::object();
  for (const auto& [key, child] : table) {
    auto path = child_path(prefix, std::string{key.str()});
    if (origins) (*origins)[path] = to_source(key.source());
    out[std::string{key.str()}] = to_json(child, origins, path);
  }
  return out;
}

sy::value array_to_json(const toml::array& array, std::map<std::string, source>* origins,
                        const std::string& prefix) {
  auto out = sy::value::array();
  for (size_t i = 0; i < array.size(); ++i) {
    auto path = prefix + "[" + std::to_string(i) + "]";
    if (origins) (*origins)[path] = to_source(array[i].source());
    out.push_back(to_json(array[i], origins, path));
  }
  return out;
}

bool is_bare_key(const std::string& key) {
  if (key.empty()) return false;
  for (unsigned char c : key)
    if (!std::isalnum(c) && c != '_' && c != '-') return false;
  return true;
}

} // namespace

std::string toml_key(const std::string& key) {
  return is_bare_key(key) ? key : sy::value(key).dump();
}

source to_source(const toml::source_region& region) {
  return file_source(region.path ? *region.path : std::string{"<toml>"},
                     static_cast<int>(region.begin.line), static_cast<int>(region.begin.column));
}

sy::value to_json(const toml::node& node, std::map<std::string, source>* origins,
                  const std::string& prefix) {
  if (auto t = node.as_table()) return table_to_json(*t, origins, prefix);
  if (auto a = node.as_array()) return array_to_json(*a, origins, prefix);
  if (auto s = node.as_string()) return s->get();
  if (auto i = node.as_integer()) return i->get();
  if (auto f = node.as_floating_point()) return f->get();
  if (auto b = node.as_boolean()) return b->get();
  return date_text(node);
}

std::string to_toml_text(const sy::value& v) {
  switch (v.type()) {
  case sy::value::value_t::object: {
    if (v.empty()) return "{}";
    std::string out = "{ ";
    for (const auto& [key, child] : v.items())
      out += toml_key(key) + " = " + to_toml_text(child) + ", ";
    out.replace(out.size() - 2, 2, " }");
    return out;
  }
  case sy::value::value_t::array: {
    std::string out = "[";
    for (const auto& child : v)
      out += (out.size() > 1 ? ", " : "") + to_toml_text(child);
    return out + "]";
  }
  case sy::value::value_t::null:
    return "\"\"";
  default:
    return sy::to_display_json(v);
  }
}

std::string describe(const toml::node& node) {
  if (node.is_table()) return "a table";
  auto text = to_toml_text(to_json(node));
  constexpr size_t limit = 60;
  return text.size() <= limit ? text : text.substr(0, limit) + "...";
}

} // namespace sy::config::detail
