#include "runtime/sim/scenario.hpp"

#include "runtime/config/duration.hpp"
#include "runtime/pipeline/layout.hpp"

#include <set>
#include <toml++/toml.h>

namespace sy::sim {

namespace {

/// Reads one table of the scenario, naming file, line, table and key in
/// every error.
class reader {
public:
  reader(const std::string& file, std::string where, const toml::table& t)
      : file_(file), where_(std::move(where)), t_(t) {}

  error fail(const std::string& key, const std::string& what) const {
    const auto* node = t_.get(key);
    auto line = node ? node->source().begin.line : t_.source().begin.line;
    return make_error(errc::config, file_ + ":" + std::to_string(line) + ": " + where_ +
                                        (key.empty() ? "" : " key \"" + key + "\"") + ": " + what);
  }

  expected<void> only(const std::set<std::string>& known) const {
    for (const auto& [k, _] : t_) {
      std::string key{k.str()};
      if (known.count(key)) continue;
      std::string list;
      for (const auto& name : known)
        list += (list.empty() ? "" : ", ") + name;
      return fail(key, "unknown key; " + where_ + " has: " + list);
    }
    return {};
  }

  bool has(const std::string& key) const { return t_.contains(key); }

  expected<std::string> text(const std::string& key, std::string fallback) const {
    if (!has(key)) return fallback;
    auto v = t_[key].value<std::string>();
    if (!v) return fail(key, "must be a string");
    return *v;
  }

  expected<double> number(const std::string& key, double fallback, double min) const {
    if (!has(key)) return fallback;
    auto v = t_[key].value<double>();
    if (!v) return fail(key, "must be a number");
    if (*v < min) return fail(key, "must be at least " + std::to_string(min));
    return *v;
  }

  expected<milliseconds> duration(const std::string& key, milliseconds fallback) const {
    if (!has(key)) return fallback;
    auto v = t_[key].value<std::string>();
    auto d = v ? config::parse_duration(*v) : std::nullopt;
    if (!d || d->count() < 0) return fail(key, "must be a duration such as \"500ms\", \"10s\"");
    return *d;
  }

  /// A table of scalars as JSON.
  expected<value> scalars(const toml::table& t, const std::string& key) const {
    value out = value::object();
    for (const auto& [k, v] : t) {
      std::string name{k.str()};
      if (auto s = v.value<std::string>(); s && v.is_string())
        out[name] = *s;
      else if (v.is_integer())
        out[name] = *v.value<std::int64_t>();
      else if (v.is_floating_point())
        out[name] = *v.value<double>();
      else if (v.is_boolean())
        out[name] = *v.value<bool>();
      else
        return fail(key, "\"" + name + "\" must be a string, number or boolean");
    }
    return out;
  }

  const toml::table& table() const { return t_; }

private:
  const std::string& file_;
  std::string where_;
  const toml::table& t_;
};

expected<void> read_simulation(const reader& r, scenario& s) {
  if (auto ok = r.only({"name", "description", "broker", "storage", "drain_timeout",
                        "sample_interval", "node_config"});
      !ok)
    return ok;
  auto name = r.text("name", s.name);
  auto description = r.text("description", "");
  auto broker = r.text("broker", "single");
  auto storage = r.text("storage", "file");
  auto drain = r.duration("drain_timeout", s.drain_timeout);
  auto sample = r.duration("sample_interval", s.sample_interval);
  for (const auto* e : {&name, &description, &broker, &storage})
    if (!*e) return e->error();
  if (!drain) return drain.error();
  if (!sample) return sample.error();
  if (*broker != "single" && *broker != "cluster")
    return r.fail("broker", "must be \"single\" or \"cluster\"");
  if (*storage != "file" && *storage != "memory")
    return r.fail("storage", "must be \"file\" or \"memory\"");
  if (sample->count() < 100) return r.fail("sample_interval", "must be at least 100ms");
  s.name = *name;
  s.description = *description;
  s.broker = *broker;
  s.storage = *storage;
  s.drain_timeout = *drain;
  s.sample_interval = *sample;
  return {};
}

expected<producer_spec> read_producer(const reader& r) {
  if (auto ok =
          r.only({"rate", "count", "start", "duration", "headers", "mix", "priority", "payload"});
      !ok)
    return ok.error();
  producer_spec p;
  auto rate = r.number("rate", p.rate, 0.001);
  auto count = r.number("count", 0, 0);
  auto start = r.duration("start", p.start);
  auto duration = r.duration("duration", p.duration);
  if (!rate) return rate.error();
  if (!count) return count.error();
  if (!start) return start.error();
  if (!duration) return duration.error();
  p.rate = *rate;
  p.count = static_cast<long>(*count);
  p.start = *start;
  p.duration = *duration;
  if (p.count == 0 && p.duration.count() == 0)
    return r.fail("", "give \"count\" or \"duration\" (or both): a producer must end");
  const auto& t = r.table();
  if (r.has("headers") == r.has("mix"))
    return r.fail("headers", "give exactly one of \"headers\" (a table) and \"mix\" (an array of "
                             "{ weight, headers })");
  if (r.has("headers")) {
    const auto* h = t["headers"].as_table();
    if (!h) return r.fail("headers", "must be a table of header = value");
    auto json = r.scalars(*h, "headers");
    if (!json) return json.error();
    p.mix.push_back({1, std::move(*json)});
  } else {
    const auto* mix = t["mix"].as_array();
    if (!mix || mix->empty()) return r.fail("mix", "must be a non-empty array of tables");
    for (const auto& entry : *mix) {
      const auto* e = entry.as_table();
      const auto* h = e ? (*e)["headers"].as_table() : nullptr;
      if (!h)
        return r.fail("mix", "every entry needs a headers table: { weight = 1, headers = {...} }");
      auto json = r.scalars(*h, "mix");
      if (!json) return json.error();
      auto weight = (*e)["weight"].value_or(1.0);
      if (weight <= 0) return r.fail("mix", "weights must be > 0");
      p.mix.push_back({weight, std::move(*json)});
    }
  }
  for (const auto& choice : p.mix)
    if (choice.headers.empty())
      return r.fail(r.has("mix") ? "mix" : "headers", "headers are empty");
  if (r.has("priority")) {
    if (auto one = t["priority"].value<std::string>()) {
      auto prio = parse_priority(*one);
      if (!prio) return r.fail("priority", "must be high, normal or low, or a table of weights");
      for (auto& w : p.priority_weights)
        w = 0;
      p.priority_weights[static_cast<int>(*prio)] = 1;
    } else if (const auto* weights = t["priority"].as_table()) {
      for (auto& w : p.priority_weights)
        w = 0;
      double sum = 0;
      for (const auto& [k, v] : *weights) {
        auto prio = parse_priority(k.str());
        auto w = v.value<double>();
        if (!prio || !w || *w < 0)
          return r.fail("priority", "weights are { high = N, normal = N, low = N }, N >= 0");
        p.priority_weights[static_cast<int>(*prio)] = *w;
        sum += *w;
      }
      if (sum <= 0) return r.fail("priority", "at least one weight must be > 0");
    } else {
      return r.fail("priority", "must be high, normal or low, or a table of weights");
    }
  }
  if (r.has("payload")) {
    const auto* pl = t["payload"].as_table();
    if (!pl) return r.fail("payload", "must be a table");
    auto json = r.scalars(*pl, "payload");
    if (!json) return json.error();
    p.payload = std::move(*json);
  }
  return p;
}

expected<fault_spec> read_fault(const reader& r, const scenario& s) {
  if (auto ok = r.only({"at", "action", "node", "server"}); !ok) return ok.error();
  fault_spec f;
  auto at = r.duration("at", f.at);
  auto action = r.text("action", "");
  auto node = r.text("node", "");
  auto server = r.number("server", 1, 1);
  if (!at) return at.error();
  if (!action) return action.error();
  if (!node) return node.error();
  if (!server) return server.error();
  if (!r.has("at")) return r.fail("", "needs \"at\", the time of the fault");
  static const std::pair<const char*, fault_action> actions[] = {
      {"kill", fault_action::kill},
      {"restart", fault_action::restart},
      {"pause", fault_action::pause},
      {"resume", fault_action::resume},
      {"stop_broker", fault_action::stop_broker},
      {"start_broker", fault_action::start_broker}};
  bool known = false;
  for (const auto& [name, a] : actions)
    if (*action == name) {
      f.action = a;
      known = true;
    }
  if (!known)
    return r.fail("action",
                  "must be kill, restart, pause, resume, stop_broker or start_broker, not \"" +
                      *action + "\"");
  f.at = *at;
  f.node = *node;
  f.server = static_cast<int>(*server);
  bool on_node = f.action != fault_action::stop_broker && f.action != fault_action::start_broker;
  if (on_node) {
    bool exists = false;
    for (const auto& n : s.nodes)
      exists |= n.name == f.node;
    if (!exists) return r.fail("node", "names no [[node]] of this scenario: \"" + f.node + "\"");
  } else if (f.server > (s.broker == "cluster" ? 3 : 1)) {
    return r.fail("server", s.broker == "cluster" ? "must be 1, 2 or 3" : "must be 1 (one server)");
  }
  return f;
}

} // namespace

const char* to_string(fault_action a) {
  switch (a) {
  case fault_action::kill:
    return "kill";
  case fault_action::restart:
    return "restart";
  case fault_action::pause:
    return "pause";
  case fault_action::resume:
    return "resume";
  case fault_action::stop_broker:
    return "stop_broker";
  case fault_action::start_broker:
    return "start_broker";
  }
  return "?";
}

expected<scenario> load_scenario(const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return make_error(errc::config, path + ":" + std::to_string(e.source().begin.line) +
                                        ": TOML syntax error: " + std::string{e.description()});
  }
  scenario s;
  auto slash = path.find_last_of('/');
  s.name = path.substr(slash == std::string::npos ? 0 : slash + 1);
  reader top{path, "scenario", root};
  if (auto ok = top.only({"simulation", "node", "producer", "fault"}); !ok) return ok.error();
  const auto* sim = root["simulation"].as_table();
  static const toml::table empty;
  reader sim_reader{path, "[simulation]", sim ? *sim : empty};
  if (auto ok = read_simulation(sim_reader, s); !ok) return ok.error();
  auto shared = sim_reader.text("node_config", "");
  if (!shared) return shared.error();
  const auto* nodes = root["node"].as_array();
  if (!nodes || nodes->empty()) return top.fail("node", "needs at least one [[node]]");
  std::set<std::string> names;
  for (std::size_t i = 0; i < nodes->size(); ++i) {
    const auto* t = (*nodes)[i].as_table();
    if (!t) return top.fail("node", "must be an array of tables ([[node]])");
    reader r{path, "[[node]] #" + std::to_string(i + 1), *t};
    if (auto ok = r.only({"name", "config"}); !ok) return ok.error();
    auto name = r.text("name", "");
    auto config = r.text("config", *shared);
    if (!name) return name.error();
    if (!config) return config.error();
    if (!pipeline::is_key_token(*name))
      return r.fail("name", "needs a name of letters, digits, '-' or '_'");
    if (!names.insert(*name).second) return r.fail("name", "\"" + *name + "\" is used twice");
    if (config->empty())
      return r.fail("config",
                    "no configuration: give [simulation] node_config or this node's config");
    s.nodes.push_back({*name, *config});
  }
  const auto* producers = root["producer"].as_array();
  if (!producers || producers->empty())
    return top.fail("producer", "needs at least one [[producer]]");
  for (std::size_t i = 0; i < producers->size(); ++i) {
    const auto* t = (*producers)[i].as_table();
    if (!t) return top.fail("producer", "must be an array of tables ([[producer]])");
    auto p = read_producer(reader{path, "[[producer]] #" + std::to_string(i + 1), *t});
    if (!p) return p.error();
    s.producers.push_back(std::move(*p));
  }
  if (const auto* faults = root["fault"].as_array()) {
    for (std::size_t i = 0; i < faults->size(); ++i) {
      const auto* t = (*faults)[i].as_table();
      if (!t) return top.fail("fault", "must be an array of tables ([[fault]])");
      auto f = read_fault(reader{path, "[[fault]] #" + std::to_string(i + 1), *t}, s);
      if (!f) return f.error();
      s.faults.push_back(std::move(*f));
    }
  }
  return s;
}

} // namespace sy::sim
