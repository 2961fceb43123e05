#include "runtime/config/loaded_config.hpp"

#include "runtime/config/schema.hpp"
#include "runtime/config/toml_json.hpp"

#include <algorithm>

namespace sy::config {

namespace {

using namespace detail;

/// Comments start at most at this column, however long a value is.
constexpr size_t max_comment_column = 48;

using string_map = std::map<std::string, std::string>;

/// One key of the merged configuration, ready to print.
struct shown_key {
  std::string name;
  setting value;
  source from;
  /// Table-valued keys: where each item came from.
  std::map<std::string, source> item_sources;
};

source lookup(const std::map<std::string, source>& sources, const std::string& key) {
  auto i = sources.find(key);
  return i == sources.end() ? source{} : i->second;
}

std::vector<shown_key> section_keys(const loaded_config& lc, const section_spec& section) {
  std::vector<shown_key> out;
  for (const auto& key : section.keys) {
    auto path = section.name + "." + key.name;
    shown_key shown{key.name, key.field.get(lc.config), lc.source_of(path), {}};
    if (auto items = std::get_if<string_map>(&shown.value))
      for (const auto& item : *items)
        shown.item_sources[item.first] = lc.source_of(path + "." + item.first);
    out.push_back(std::move(shown));
  }
  return out;
}

std::vector<shown_key> consumer_keys(const loaded_config& lc, size_t index) {
  std::vector<shown_key> out;
  for (const auto& key : consumer_schema())
    out.push_back({key.name,
                   key.field.get(lc.config.consumers[index]),
                   lc.consumer_source_of(index, key.name),
                   {}});
  return out;
}

std::string comment(const source& from) {
  return (from.type == source::kind::file ? "# from " : "# ") + from.to_string();
}

struct line {
  std::string key;
  std::string value;
  std::string comment;
};

/// Table-valued keys print one dotted key per item ("levels.router"), each
/// with its own source; everything else prints as one inline value.
std::vector<line> lines_of(const std::vector<shown_key>& keys) {
  std::vector<line> out;
  for (const auto& key : keys) {
    auto items = std::get_if<string_map>(&key.value);
    if (!items || items->empty()) {
      out.push_back({key.name, to_toml_text(to_json(key.value)), comment(key.from)});
      continue;
    }
    for (const auto& [item, value] : *items)
      out.push_back({key.name + "." + toml_key(item), to_toml_text(value),
                     comment(key.item_sources.at(item))});
  }
  return out;
}

std::string pad(std::string text, size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

/// Writes a table header and its lines, with '=' and '#' aligned.
void write_block(std::string& out, const std::string& header, const std::string& header_comment,
                 const std::vector<line>& lines) {
  size_t key_width = 0;
  for (const auto& l : lines)
    key_width = std::max(key_width, l.key.size());
  size_t width = header_comment.empty() ? 0 : header.size();
  for (const auto& l : lines)
    width = std::max(width, key_width + 3 + l.value.size());
  width = std::min(width, max_comment_column);
  out += header_comment.empty() ? header : pad(header, width) + "  " + header_comment;
  out += '\n';
  for (const auto& l : lines)
    out += pad(pad(l.key, key_width) + " = " + l.value, width) + "  " + l.comment + "\n";
}

sy::value json_of(const std::vector<shown_key>& keys) {
  auto out = sy::value::object();
  for (const auto& key : keys) {
    sy::value entry{{"value", to_json(key.value)}, {"source", key.from.to_string()}};
    for (const auto& [item, from] : key.item_sources)
      entry["item_sources"][item] = from.to_string();
    out[key.name] = std::move(entry);
  }
  return out;
}

} // namespace

source loaded_config::source_of(const std::string& key) const {
  return lookup(sources.keys, key);
}

source loaded_config::consumer_source_of(std::size_t index, const std::string& key) const {
  return index < sources.consumers.size() ? lookup(sources.consumers[index].keys, key) : source{};
}

std::string loaded_config::render_text() const {
  std::string out;
  for (const auto& section : node_schema()) {
    write_block(out, "[" + section.name + "]", "", lines_of(section_keys(*this, section)));
    out += '\n';
  }
  for (size_t i = 0; i < config.consumers.size(); ++i) {
    write_block(out, "[[consumer]]", comment(sources.consumers[i].table),
                lines_of(consumer_keys(*this, i)));
    out += '\n';
  }
  out.pop_back();
  return out;
}

sy::value loaded_config::render_json() const {
  auto out = sy::value::object();
  for (const auto& section : node_schema())
    out[section.name] = json_of(section_keys(*this, section));
  out["consumer"] = sy::value::array();
  for (size_t i = 0; i < config.consumers.size(); ++i)
    out["consumer"].push_back(json_of(consumer_keys(*this, i)));
  return out;
}

} // namespace sy::config
