#include "runtime/config/value_type.hpp"

#include "runtime/config/duration.hpp"
#include "runtime/config/toml_json.hpp"

#include <charconv>

namespace sy::config::detail {

namespace {

using string_map = std::map<std::string, std::string>;

std::string quoted(std::string_view text) {
  return sy::value(std::string{text}).dump();
}

std::string_view trim(std::string_view text) {
  auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

/// Comma-separated items, trimmed; nothing for empty text.
std::vector<std::string_view> split_list(std::string_view text) {
  std::vector<std::string_view> items;
  if (trim(text).empty()) return items;
  for (size_t start = 0;;) {
    auto comma = text.find(',', start);
    items.push_back(trim(text.substr(start, comma - start)));
    if (comma == std::string_view::npos) return items;
    start = comma + 1;
  }
}

expected<std::string> check_text(std::string_view text, const text_rule& rule,
                                 const field_ref& field, const std::string& got) {
  if (rule.accepts && !rule.accepts(text)) return field.mismatch(rule.expectation, got);
  return std::string{text};
}

expected<std::string> check_toml_text(const toml::node& node, const text_rule& rule,
                                      const field_ref& field) {
  if (auto s = node.as_string()) return check_text(s->get(), rule, field, describe(node));
  return field.mismatch(rule.expectation, describe(node));
}

/// Lifts a checked part into a setting, or passes its error on.
template <class T> expected<setting> lift(expected<T> part) {
  if (!part) return part.error();
  return setting{std::move(*part)};
}

/// `node` as JSON, remembering where it and everything in it was written.
located_value locate(const toml::node& node, const field_ref& field) {
  located_value out{{}, field.where, field.label, field.path};
  out.json = to_json(node, &out.key_origins);
  return out;
}

expected<located_value> read_table(const toml::node& node, const field_ref& field) {
  if (!node.is_table()) return field.mismatch("a table", describe(node));
  return locate(node, field);
}

class boolean_type final : public value_type {
public:
  expected<setting> from_toml(const toml::node& node, const field_ref& field) const override {
    if (auto b = node.as_boolean()) return setting{b->get()};
    return field.mismatch("true or false", describe(node));
  }
  expected<setting> from_text(std::string_view text, const field_ref& field) const override {
    if (text == "true" || text == "false") return setting{text == "true"};
    return field.mismatch("true or false", quoted(text));
  }
};

class integer_type final : public value_type {
public:
  integer_type(std::int64_t min, std::int64_t max) : min_(min), max_(max) {}
  expected<setting> from_toml(const toml::node& node, const field_ref& field) const override {
    auto i = node.as_integer();
    return check(i ? std::optional{i->get()} : std::nullopt, field, describe(node));
  }
  expected<setting> from_text(std::string_view text, const field_ref& field) const override {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    bool whole = ec == std::errc{} && end == text.data() + text.size();
    return check(whole ? std::optional{v} : std::nullopt, field, quoted(text));
  }

private:
  expected<setting> check(std::optional<std::int64_t> v, const field_ref& field,
                          const std::string& got) const {
    if (v && *v >= min_ && *v <= max_) return setting{*v};
    return field.mismatch("an integer in " + std::to_string(min_) + ".." + std::to_string(max_),
                          got);
  }
  std::int64_t min_;
  std::int64_t max_;
};

class text_type final : public value_type {
public:
  explicit text_type(text_rule rule) : rule_(std::move(rule)) {}
  expected<setting> from_toml(const toml::node& node, const field_ref& field) const override {
    return lift(check_toml_text(node, rule_, field));
  }
  expected<setting> from_text(std::string_view text, const field_ref& field) const override {
    return lift(check_text(text, rule_, field, quoted(text)));
  }

private:
  text_rule rule_;
};

class duration_type final : public value_type {
public:
  explicit duration_type(milliseconds min) : min_(min) {}
  expected<setting> from_toml(const toml::node& node, const field_ref& field) const override {
    auto s = node.as_string();
    return check(s ? s->get() : std::string_view{}, field, describe(node));
  }
  expected<setting> from_text(std::string_view text, const field_ref& field) const override {
    return check(text, field, quoted(text));
  }

private:
  expected<setting> check(std::string_view text, const field_ref& field,
                          const std::string& got) const {
    auto d = parse_duration(text);
    if (d && *d >= min_) return setting{*d};
    auto bound = min_.count() > 0 ? " of at least " + format_duration(min_) : std::string{};
    return field.mismatch("a duration" + bound + " like \"30s\" or \"1h30m\"", got);
  }
  milliseconds min_;
};

class text_list_type final : public value_type {
public:
  explicit text_list_type(text_rule rule) : rule_(std::move(rule)) {}
  expected<setting> from_toml(const toml::node& node, const field_ref& field) const override {
    auto array = node.as_array();
    if (!array) return field.mismatch("an array of strings", describe(node));
    std::vector<std::string> items;
    for (size_t i = 0; i < array->size(); ++i) {
      const auto& item = (*array)[i];
      auto s = check_toml_text(item, rule_, element(field, i, to_source(item.source())));
      if (!s) return s.error();
      items.push_back(std::move(*s));
    }
    return setting{std::move(items)};
  }
  expected<setting> from_text(std::string_view text, const field_ref& field) const override {
    std::vector<std::string> items;
    for (auto item : split_list(text)) {
      auto s = check_text(item, rule_, element(field, items.size(), field.where), quoted(item));
      if (!s) return s.error();
      items.push_back(std::move(*s));
    }
    return setting{std::move(items)};
  }

private:
  static field_ref element(const field_ref& field, size_t i, source at) {
    return field.child("[" + std::to_string(i) + "]", std::move(at));
  }
  text_rule rule_;
};

class text_map_type final : public value_type {
public:
  explicit text_map_type(text_rule rule) : rule_(std::move(rule)) {}
  expected<setting> from_toml(const toml::node& node, const field_ref& field) const override {
    auto table = node.as_table();
    if (!table) return field.mismatch("a table of name = value", describe(node));
    expected<setting> out{string_map{}};
    for (const auto& [key, value] : *table) {
      auto name = std::string{key.str()};
      auto s = check_toml_text(value, rule_, field.child(name, to_source(key.source())));
      if (!s) return s.error();
      std::get<string_map>(*out)[name] = std::move(*s);
    }
    return out;
  }
  expected<setting> from_text(std::string_view text, const field_ref& field) const override {
    expected<setting> out{string_map{}};
    for (auto item : split_list(text)) {
      auto eq = item.find('=');
      auto name = std::string{trim(item.substr(0, eq))};
      if (eq == std::string_view::npos || name.empty())
        return field.mismatch("name=value pairs separated by commas", quoted(item));
      auto value = trim(item.substr(eq + 1));
      auto s = check_text(value, rule_, field.child(name, field.where), quoted(value));
      if (!s) return s.error();
      std::get<string_map>(*out)[name] = std::move(*s);
    }
    return out;
  }

private:
  text_rule rule_;
};

class table_list_type final : public value_type {
public:
  expected<setting> from_toml(const toml::node& node, const field_ref& field) const override {
    auto array = node.as_array();
    if (!array)
      return field.mismatch("an array of tables like [{ type = \"sample\" }]", describe(node));
    for (size_t i = 0; i < array->size(); ++i) {
      const auto& item = (*array)[i];
      if (!item.is_table())
        return field.child("[" + std::to_string(i) + "]", to_source(item.source()))
            .mismatch("a table like { type = \"sample\" }", describe(item));
    }
    return setting{locate(node, field)};
  }
};

class table_type final : public value_type {
public:
  expected<setting> from_toml(const toml::node& node, const field_ref& field) const override {
    return lift(read_table(node, field));
  }
};

class plugin_choice_type final : public value_type {
public:
  expected<setting> from_toml(const toml::node& node, const field_ref& field) const override {
    auto table = node.as_table();
    if (!table) return field.mismatch("a table like { name = \"...\" }", describe(node));
    plugin_ref out{
        {}, located_value{sy::value::object(), field.where, field.label, field.path + ".config"}};
    for (const auto& [key, value] : *table) {
      auto child = field.child(std::string{key.str()}, to_source(key.source()));
      if (key == "name") {
        auto name = check_toml_text(value, name_rule(), child);
        if (!name) return name.error();
        out.name = std::move(*name);
      } else if (key == "config") {
        auto config = read_table(value, child);
        if (!config) return config.error();
        out.config = std::move(*config);
      } else {
        return child.fail("unknown key; known keys are: name, config");
      }
    }
    if (out.name.empty()) return field.fail("missing required key \"name\"");
    return setting{std::move(out)};
  }

private:
  static const text_rule& name_rule() {
    static const text_rule rule{"a plugin name", [](std::string_view s) { return !s.empty(); }};
    return rule;
  }
};

} // namespace

sy::value to_json(const setting& s) {
  return std::visit(
      [](const auto& x) -> sy::value {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, milliseconds>)
          return format_duration(x);
        else if constexpr (std::is_same_v<T, located_value>)
          return x.json;
        else if constexpr (std::is_same_v<T, plugin_ref>)
          return {{"name", x.name}, {"config", x.config.json}};
        else
          return x;
      },
      s);
}

field_ref field_ref::child(const std::string& suffix, source at) const {
  auto sub = suffix.front() == '[' ? path + suffix : path + "." + suffix;
  return field_ref{std::move(at), label, std::move(sub)};
}

sy::error field_ref::fail(const std::string& what) const {
  return make_error(errc::config,
                    where.to_string() + ": " + label + "key \"" + path + "\": " + what);
}

sy::error field_ref::mismatch(const std::string& expectation, const std::string& got) const {
  auto separator = expectation.find(',') == std::string::npos ? ", " : "; ";
  return fail("expected " + expectation + separator + "got " + got);
}

expected<setting> value_type::from_text(std::string_view, const field_ref& field) const {
  return field.fail("can only be set in a configuration file");
}

type_ptr boolean() {
  return std::make_shared<boolean_type>();
}
type_ptr integer(std::int64_t min, std::int64_t max) {
  return std::make_shared<integer_type>(min, max);
}
type_ptr text(text_rule rule) {
  return std::make_shared<text_type>(std::move(rule));
}
type_ptr duration(milliseconds min) {
  return std::make_shared<duration_type>(min);
}
type_ptr text_list(text_rule rule) {
  return std::make_shared<text_list_type>(std::move(rule));
}
type_ptr text_map(text_rule rule) {
  return std::make_shared<text_map_type>(std::move(rule));
}
type_ptr table_list() {
  return std::make_shared<table_list_type>();
}
type_ptr table() {
  return std::make_shared<table_type>();
}
type_ptr plugin_choice() {
  return std::make_shared<plugin_choice_type>();
}

} // namespace sy::config::detail
