#include "runtime/config/load.hpp"

#include "runtime/config/schema.hpp"
#include "runtime/config/toml_json.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

extern char** environ;

namespace sy::config {

namespace {

using namespace detail;

constexpr std::string_view env_prefix = "SWITCHYARD_";
constexpr std::string_view config_variable = "SWITCHYARD_CONFIG";

struct config_file {
  std::string path;
  /// "" for an implicit file, which may be absent; else what named it.
  std::string named_by;
};

std::vector<config_file> files_to_read(const load_options& options) {
  std::vector<config_file> files;
  for (const auto& path : options.implicit_files)
    files.push_back({path, ""});
  auto named = options.env.find(std::string{config_variable});
  if (named != options.env.end() && !named->second.empty())
    files.push_back({named->second, "$SWITCHYARD_CONFIG"});
  for (const auto& path : options.config_files)
    files.push_back({path, "--config"});
  return files;
}

/// Parses `file`; nothing when an implicit file is absent.
expected<std::optional<toml::table>> read_file(const config_file& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file.path, ec)) {
    if (file.named_by.empty()) return std::optional<toml::table>{};
    return make_error(errc::not_found, "configuration file " + file.path + " (from " +
                                           file.named_by + ") does not exist");
  }
  if (!std::filesystem::is_regular_file(file.path, ec))
    return make_error(errc::io, "configuration file " + file.path + " is not a regular file");
  std::ifstream in(file.path, std::ios::binary);
  if (!in)
    return make_error(errc::io,
                      "cannot read configuration file " + file.path + ": " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  try {
    return std::optional{toml::parse(text.str(), std::string{file.path})};
  } catch (const toml::parse_error& e) {
    auto at = to_source(e.source());
    return make_error(errc::config, at.to_string() + ":" + std::to_string(at.column) +
                                        ": TOML syntax error: " + std::string{e.description()});
  }
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

/// SWITCHYARD_HOUSEKEEPER_CRASHED_TTL → "housekeeper.crashed_ttl".
std::string key_of_variable(const std::string& name) {
  auto rest = name.substr(env_prefix.size());
  auto underscore = rest.find('_');
  if (underscore != std::string::npos) rest[underscore] = '.';
  return lowercase(rest);
}

sy::error unknown_section(const field_ref& field, std::string_view name) {
  return field.fail("unknown section \"" + std::string{name} +
                    "\"; sections are: " + section_names());
}

template <class Owner>
sy::error unknown_key(const field_ref& field, std::string_view owner,
                      const std::vector<key_spec<Owner>>& keys) {
  return field.fail("unknown key; " + std::string{owner} + " has: " + key_names(keys));
}

/// Gives the JSON values of a fresh consumer a location, so that a plugin
/// can name the consumer even when complaining about a default.
void anchor(consumer_options& c, const source& at, const std::string& label) {
  for (auto [value, key] : {std::pair{&c.filters, "filters"},
                            {&c.config, "config"},
                            {&c.scheduler.config, "scheduler.config"},
                            {&c.ranker.config, "ranker.config"}}) {
    value->origin = at;
    value->label = label;
    value->key = key;
  }
}

/// Where item `name` of a table-valued key was written: its line in `table`,
/// or `fallback` when the value did not come from a file.
source item_source(const toml::table* table, const std::string& name, const source& fallback) {
  if (!table) return fallback;
  auto written = table->find(name);
  return written == table->end() ? fallback : to_source(written->first.source());
}

/// "[consumer] #2 ": how messages name the consumer at `index` (0-based).
std::string consumer_label(size_t index) {
  return "[consumer] #" + std::to_string(index + 1) + " ";
}

struct consumer_entry {
  consumer_options options;
  consumer_sources sources;
};

expected<consumer_entry> read_consumer(const toml::table& table, size_t index) {
  auto label = consumer_label(index);
  consumer_entry out{{}, {to_source(table.source()), {}}};
  anchor(out.options, out.sources.table, label);
  for (const auto& [name, value] : table) {
    field_ref field{to_source(name.source()), label, std::string{name.str()}};
    auto key = find_key(consumer_schema(), name.str());
    if (!key) return unknown_key(field, "[[consumer]]", consumer_schema());
    auto s = key->type->from_toml(value, field);
    if (!s) return s.error();
    key->field.set(out.options, *s);
    out.sources.keys[key->name] = field.where;
  }
  for (const auto& key : consumer_schema())
    if (key.required && !out.sources.keys.count(key.name))
      return field_ref{out.sources.table, label, key.name}.fail("required, but not set");
  return out;
}

expected<void> check_unique_identities(const std::vector<consumer_entry>& entries) {
  for (size_t i = 0; i < entries.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (entries[i].options.identity == entries[j].options.identity) {
        const auto& first = entries[j].sources.keys.at("identity");
        field_ref field{entries[i].sources.keys.at("identity"), consumer_label(i), "identity"};
        return field.fail("\"" + entries[i].options.identity + "\" is already the identity of " +
                          consumer_label(j) + "at " + first.to_string());
      }
  return {};
}

/// Applies the layers, in order, to one configuration.
class loader {
public:
  expected<void> apply_file(const toml::table& doc) {
    for (const auto& [name, node] : doc) {
      field_ref field{to_source(name.source()), "", std::string{name.str()}};
      auto done = name == "consumer" ? apply_consumers(node, field) : apply_section(node, field);
      if (!done) return done;
    }
    return {};
  }

  expected<void> apply_env(const std::map<std::string, std::string>& env) {
    for (const auto& [name, text] : env) {
      if (name.rfind(env_prefix, 0) != 0 || name == config_variable) continue;
      auto done = apply_text(key_of_variable(name), text, env_source(name));
      if (!done) return done;
    }
    return {};
  }

  expected<void> apply_override(const std::string& flag) {
    auto eq = flag.find('=');
    if (eq == std::string::npos || eq == 0)
      return make_error(errc::config, "flag \"" + flag + "\": expected section.key=value");
    auto path = flag.substr(0, eq);
    return apply_text(path, std::string_view{flag}.substr(eq + 1), flag_source(path));
  }

  /// Fills what depends on other keys; ends the loader.
  loaded_config finish() && {
    for (size_t i = 0; i < out_.config.consumers.size(); ++i) {
      auto& keys = out_.sources.consumers[i].keys;
      if (keys.count("max_deliver")) continue;
      out_.config.consumers[i].max_deliver = out_.config.broker.max_deliver;
      keys["max_deliver"] = source{source::kind::default_value, "broker.max_deliver", 0, 0};
    }
    return std::move(out_);
  }

private:
  expected<void> apply_section(const toml::node& node, const field_ref& field) {
    auto section = find_section(field.path);
    if (!section) return unknown_section(field, field.path);
    auto table = node.as_table();
    if (!table) return field.mismatch("a table [" + field.path + "]", describe(node));
    for (const auto& [name, value] : *table) {
      auto key_field = field.child(std::string{name.str()}, to_source(name.source()));
      auto key = find_key(section->keys, name.str());
      if (!key) return unknown_key(key_field, "[" + section->name + "]", section->keys);
      auto s = key->type->from_toml(value, key_field);
      if (!s) return s.error();
      store(key_field.path, *key, *s, key_field.where, value.as_table());
    }
    return {};
  }

  /// A later file's [[consumer]] list replaces the earlier one as a whole.
  expected<void> apply_consumers(const toml::node& node, const field_ref& field) {
    auto array = node.as_array();
    auto is_table = [](const toml::node& n) { return n.is_table(); };
    if (!array || !std::all_of(array->begin(), array->end(), is_table))
      return field.mismatch("an array of tables [[consumer]]", describe(node));
    std::vector<consumer_entry> entries;
    for (size_t i = 0; i < array->size(); ++i) {
      auto entry = read_consumer(*(*array)[i].as_table(), i);
      if (!entry) return entry.error();
      entries.push_back(std::move(*entry));
    }
    if (auto unique = check_unique_identities(entries); !unique) return unique;
    out_.config.consumers.clear();
    out_.sources.consumers.clear();
    for (auto& entry : entries) {
      out_.config.consumers.push_back(std::move(entry.options));
      out_.sources.consumers.push_back(std::move(entry.sources));
    }
    return {};
  }

  /// Sets "section.key" from an environment variable or a flag.
  expected<void> apply_text(const std::string& path, std::string_view text, const source& from) {
    field_ref field{from, "", path};
    auto dot = path.find('.');
    auto section_name = path.substr(0, dot);
    if (section_name == "consumer")
      return field.fail("[[consumer]] tables can only be set in configuration files");
    auto section = find_section(section_name);
    if (!section) return unknown_section(field, section_name);
    auto key = dot == std::string::npos ? nullptr : find_key(section->keys, path.substr(dot + 1));
    if (!key) return unknown_key(field, "[" + section->name + "]", section->keys);
    auto s = key->type->from_text(text, field);
    if (!s) return s.error();
    store(path, *key, *s, from);
    return {};
  }

  /// Sets the field of `key` to `s`. A table-valued key also records where
  /// each item came from: its line in `table` when it was read from a file.
  void store(const std::string& path, const key_spec<node_config>& key, const setting& s,
             const source& from, const toml::table* table = nullptr) {
    key.field.set(out_.config, s);
    out_.sources.keys[path] = from;
    if (auto items = std::get_if<std::map<std::string, std::string>>(&s))
      for (const auto& item : *items)
        out_.sources.keys[path + "." + item.first] = item_source(table, item.first, from);
  }

  loaded_config out_;
};

} // namespace

expected<loaded_config> load(const load_options& options) {
  loader layers;
  for (const auto& file : files_to_read(options)) {
    auto doc = read_file(file);
    if (!doc) return doc.error();
    if (!*doc) continue;
    if (auto done = layers.apply_file(**doc); !done) return done.error();
  }
  if (auto done = layers.apply_env(options.env); !done) return done.error();
  for (const auto& flag : options.overrides)
    if (auto done = layers.apply_override(flag); !done) return done.error();
  return std::move(layers).finish();
}

std::vector<std::string> default_implicit_files(const std::map<std::string, std::string>& env) {
  std::vector<std::string> files{"/etc/switchyard/switchyard.toml"};
  auto home = env.find("HOME");
  if (home != env.end() && !home->second.empty())
    files.push_back(home->second + "/.config/switchyard/switchyard.toml");
  files.push_back("./switchyard.toml");
  return files;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text{*entry};
    auto eq = text.find('=');
    if (eq != std::string_view::npos) env.emplace(text.substr(0, eq), text.substr(eq + 1));
  }
  return env;
}

} // namespace sy::config
