#pragma once

// Internal to sy_config: the one place that lists every key, its type, its
// range and the field it fills. Adding a key means adding a field with its
// default to node_config.hpp, one line to schema.cpp and a row to
// docs/CONFIG.md (a test checks the last part).

#include "runtime/config/node_config.hpp"
#include "runtime/config/value_type.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace sy::config::detail {

/// Reads and writes one field of an `Owner` (node_config or consumer_options).
template <class Owner> struct accessor {
  std::function<setting(const Owner&)> get;
  /// Replaces the field; a map field is merged item by item instead.
  std::function<void(Owner&, const setting&)> set;
};

/// One key: its name, how its values are read, and its field.
template <class Owner> struct key_spec {
  std::string name;
  type_ptr type;
  accessor<Owner> field;
  /// A [[consumer]] table must set it.
  bool required = false;
};

/// A `[section]` of the node configuration.
struct section_spec {
  std::string name;
  std::vector<key_spec<node_config>> keys;
};

/// Every section, in the order `config show` prints them.
const std::vector<section_spec>& node_schema();
/// The keys of a [[consumer]] table.
const std::vector<key_spec<consumer_options>>& consumer_schema();

const section_spec* find_section(std::string_view name);

template <class Owner>
const key_spec<Owner>* find_key(const std::vector<key_spec<Owner>>& keys, std::string_view name) {
  for (const auto& key : keys)
    if (key.name == name) return &key;
  return nullptr;
}

/// "a, b, c": for "unknown key" messages.
template <class Owner> std::string key_names(const std::vector<key_spec<Owner>>& keys) {
  std::string out;
  for (const auto& key : keys)
    out += (out.empty() ? "" : ", ") + key.name;
  return out;
}

/// "node, broker, ..., consumer".
std::string section_names();

template <class T> struct is_map : std::false_type {};
template <class K, class V> struct is_map<std::map<K, V>> : std::true_type {};

template <class T> setting to_setting(const T& value) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    return static_cast<std::int64_t>(value);
  else
    return value;
}

template <class T> void assign(T& field, const setting& s) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    field = static_cast<T>(std::get<std::int64_t>(s));
  } else if constexpr (is_map<T>::value) {
    for (const auto& [k, v] : std::get<T>(s))
      field[k] = v;
  } else {
    field = std::get<T>(s);
  }
}

/// The accessor of `consumer_options::*member`.
template <class T> accessor<consumer_options> field(T consumer_options::*member) {
  return {[member](const consumer_options& c) { return to_setting(c.*member); },
          [member](consumer_options& c, const setting& s) { assign(c.*member, s); }};
}

/// The accessor of `node_config::*section .*member`.
template <class Section, class T>
accessor<node_config> field(Section node_config::*section, T Section::*member) {
  return {[=](const node_config& c) { return to_setting(c.*section.*member); },
          [=](node_config& c, const setting& s) { assign(c.*section.*member, s); }};
}

} // namespace sy::config::detail
