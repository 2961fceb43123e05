#include "runtime/config/schema.hpp"

#include <cctype>
#include <charconv>

namespace sy::config::detail {

namespace {

constexpr bool required = true;
constexpr std::int64_t gib = std::int64_t{1} << 30;

bool all_of(std::string_view s, bool (*pred)(unsigned char)) {
  for (unsigned char c : s)
    if (!pred(c)) return false;
  return true;
}

text_rule non_empty(std::string what) {
  return {std::move(what), [](std::string_view s) { return !s.empty(); }};
}

text_rule one_of(std::vector<std::string> choices) {
  std::string expectation = "one of";
  for (const auto& c : choices)
    expectation += (expectation.size() > 6 ? ", " : " ") + c;
  return {expectation, [choices = std::move(choices)](std::string_view s) {
            for (const auto& c : choices)
              if (c == s) return true;
            return false;
          }};
}

text_rule log_level() {
  return one_of({"trace", "debug", "info", "warn", "error", "critical", "off"});
}

/// DESIGN §1: `[a-z0-9][a-z0-9._-]*`.
text_rule identity() {
  return {"an identity matching [a-z0-9][a-z0-9._-]*", [](std::string_view s) {
            auto ok = [](unsigned char c) {
              return std::islower(c) || std::isdigit(c) || c == '.' || c == '_' || c == '-';
            };
            return !s.empty() && s[0] != '.' && s[0] != '_' && s[0] != '-' && all_of(s, ok);
          }};
}

/// The node name is a key of the `sy_nodes` bucket: keep to characters
/// every NATS KV key accepts.
text_rule node_name() {
  return {"a name made of letters, digits, '.', '_' and '-'", [](std::string_view s) {
            return all_of(s, [](unsigned char c) {
              return std::isalnum(c) || c == '.' || c == '_' || c == '-';
            });
          }};
}

text_rule broker_url() {
  return {"a URL starting with nats:// or tls://", [](std::string_view s) {
            for (std::string_view scheme : {"nats://", "tls://"})
              if (s.size() > scheme.size() && s.substr(0, scheme.size()) == scheme) return true;
            return false;
          }};
}

text_rule listen_address() {
  return {"\"host:port\" with a port in 0..65535, or \"\" to disable", [](std::string_view s) {
            if (s.empty()) return true;
            auto colon = s.rfind(':');
            if (colon == 0 || colon == std::string_view::npos) return false;
            auto port = s.substr(colon + 1);
            int n = 0;
            auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
            return !port.empty() && ec == std::errc{} && end == port.data() + port.size() &&
                   n >= 0 && n <= 65535;
          }};
}

std::vector<section_spec> make_node_schema() {
  using c = node_config;
  const auto ms = milliseconds{1};
  const auto zero = milliseconds{0};
  return {
      {"node",
       {{"name", text(node_name()), field(&c::node, &node_options::name)},
        {"data_dir", text(non_empty("a directory path")), field(&c::node, &node_options::data_dir)},
        {"shutdown_grace", duration(zero), field(&c::node, &node_options::shutdown_grace)},
        {"heartbeat_interval", duration(ms), field(&c::node, &node_options::heartbeat_interval)},
        {"threads", integer(1, 64), field(&c::node, &node_options::threads)},
        {"thread_policy", text(one_of({"sharing", "stealing"})),
         field(&c::node, &node_options::thread_policy)},
        {"cpu_latency_us", integer(-1, 1000000), field(&c::node, &node_options::cpu_latency_us)}}},
      {"broker",
       {{"urls", text_list(broker_url()), field(&c::broker, &broker_options::urls)},
        {"replicas", integer(1, 5), field(&c::broker, &broker_options::replicas)},
        {"embedded_port", integer(0, 65535), field(&c::broker, &broker_options::embedded_port)},
        {"embedded_threads", integer(0, 1024),
         field(&c::broker, &broker_options::embedded_threads)},
        {"embedded_gc_percent", integer(0, 100000),
         field(&c::broker, &broker_options::embedded_gc_percent)},
        {"embedded_cpus", text(one_of({"shared", "split"})),
         field(&c::broker, &broker_options::embedded_cpus)},
        {"connect_timeout", duration(ms), field(&c::broker, &broker_options::connect_timeout)},
        {"storage", text(one_of({"file", "memory"})), field(&c::broker, &broker_options::storage)},
        {"max_deliver", integer(1, 100), field(&c::broker, &broker_options::max_deliver)},
        {"ack_wait", duration(ms), field(&c::broker, &broker_options::ack_wait)},
        {"dedup_window", duration(ms), field(&c::broker, &broker_options::dedup_window)}}},
      {"plugins",
       {{"dirs", text_list(non_empty("a directory path")),
         field(&c::plugins, &plugins_options::dirs)}}},
      {"log",
       {{"level", text(log_level()), field(&c::log, &log_options::level)},
        {"publish", boolean(), field(&c::log, &log_options::publish)},
        {"levels", text_map(log_level()), field(&c::log, &log_options::levels)}}},
      {"router",
       {{"instances", integer(0, 64), field(&c::router, &router_options::instances)},
        {"batch", integer(1, 10000), field(&c::router, &router_options::batch)}}},
      {"housekeeper",
       {{"enabled", boolean(), field(&c::housekeeper, &housekeeper_options::enabled)},
        {"interval", duration(ms), field(&c::housekeeper, &housekeeper_options::interval)},
        {"crashed_ttl", duration(ms), field(&c::housekeeper, &housekeeper_options::crashed_ttl)},
        {"started_timeout", duration(ms),
         field(&c::housekeeper, &housekeeper_options::started_timeout)},
        {"bind_offline_ttl", duration(ms),
         field(&c::housekeeper, &housekeeper_options::bind_offline_ttl)},
        {"resource_retention", duration(ms),
         field(&c::housekeeper, &housekeeper_options::resource_retention)},
        {"resource_gc_interval", duration(ms),
         field(&c::housekeeper, &housekeeper_options::resource_gc_interval)}}},
      {"api",
       {{"listen", text(listen_address()), field(&c::api, &api_options::listen)},
        {"token", text(), field(&c::api, &api_options::token)},
        {"max_body", integer(1, gib), field(&c::api, &api_options::max_body)}}},
  };
}

std::vector<key_spec<consumer_options>> make_consumer_schema() {
  using c = consumer_options;
  const auto ms = milliseconds{1};
  return {
      {"identity", text(identity()), field(&c::identity), required},
      {"plugin", text(non_empty("a plugin name")), field(&c::plugin), required},
      {"filters", table_list(), field(&c::filters), required},
      {"persistent", boolean(), field(&c::persistent)},
      {"service_version", text(), field(&c::service_version)},
      {"info", text(), field(&c::info)},
      {"concurrency", integer(1, 4096), field(&c::concurrency)},
      {"task_timeout", duration(ms), field(&c::task_timeout)},
      {"lease", duration(ms), field(&c::lease)},
      {"record_started_after", duration(milliseconds{0}), field(&c::record_started_after)},
      {"heartbeat", duration(ms), field(&c::heartbeat)},
      {"max_deliver", integer(1, 100), field(&c::max_deliver)},
      {"scheduler", plugin_choice(), field(&c::scheduler)},
      {"ranker", plugin_choice(), field(&c::ranker)},
      {"config", table(), field(&c::config)},
  };
}

} // namespace

const std::vector<section_spec>& node_schema() {
  static const auto schema = make_node_schema();
  return schema;
}

const std::vector<key_spec<consumer_options>>& consumer_schema() {
  static const auto schema = make_consumer_schema();
  return schema;
}

const section_spec* find_section(std::string_view name) {
  for (const auto& section : node_schema())
    if (section.name == name) return &section;
  return nullptr;
}

std::string section_names() {
  std::string out;
  for (const auto& section : node_schema())
    out += section.name + ", ";
  return out + "consumer";
}

} // namespace sy::config::detail
