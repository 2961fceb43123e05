#define CAF_SUITE runtime.config
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "config_fixture.hpp"
#include "runtime/config/load.hpp"

#include <sstream>

using namespace sy;
using namespace sy::config;
using namespace std::chrono_literals;

namespace {

const char* consumer_toml = R"([broker]
max_deliver = 7

[[consumer]]
identity = "classifier"
plugin = "sy.consumers.synthetic"
filters = [ { type = "sample", kind = "raw" }, { type = "other" } ]
concurrency = 4
task_timeout = "1h30m"
scheduler = { name = "sy.schedulers.priority_queue", config = { maxsize = 10000, allow_priority_updates = true } }
config = { service_time_ms = 2, emit = [ { type = "sample", stage = "recognized" } ], at = 1979-05-27T07:32:00Z }
)";

/// `render_json` without the sources: the values only.
value values_of(const value& rendered) {
  value out = value::object();
  for (const auto& [section, keys] : rendered.items()) {
    if (keys.is_array()) {
      for (const auto& consumer : keys) {
        value c = value::object();
        for (const auto& [key, entry] : consumer.items())
          c[key] = entry["value"];
        out[section].push_back(c);
      }
      continue;
    }
    for (const auto& [key, entry] : keys.items())
      out[section][key] = entry["value"];
  }
  return out;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(config_load_tests, config_fixture)

CAF_TEST(with no layer every key has its default) {
  auto loaded = load({});
  CAF_CHECK(loaded.has_value());
  if (!loaded) return;
  const auto& c = loaded->config;
  CAF_CHECK_EQUAL(c.node.name, "");
  CAF_CHECK_EQUAL(c.node.data_dir, "./.switchyard");
  CAF_CHECK(c.node.shutdown_grace == 30s);
  CAF_CHECK_EQUAL(c.node.threads, 2);
  CAF_CHECK(c.broker.urls.empty());
  CAF_CHECK_EQUAL(c.broker.embedded_port, 4222);
  CAF_CHECK_EQUAL(c.broker.embedded_gc_percent, 400);
  CAF_CHECK_EQUAL(c.broker.embedded_cpus, "shared");
  CAF_CHECK_EQUAL(c.broker.storage, "file");
  CAF_CHECK(c.broker.dedup_window == 2min);
  CAF_CHECK_EQUAL(c.log.level, "info");
  CAF_CHECK(c.log.publish);
  CAF_CHECK_EQUAL(c.router.batch, 256);
  CAF_CHECK(c.housekeeper.crashed_ttl == 72h);
  CAF_CHECK_EQUAL(c.api.max_body, 16 * 1024 * 1024);
  CAF_CHECK(c.consumers.empty());
  CAF_CHECK_EQUAL(loaded->source_of("log.level").to_string(), "default");
  auto text = loaded->render_text();
  CAF_CHECK(text.find("crashed_ttl          = \"3d\"   # default\n") != std::string::npos);
  CAF_CHECK(text.find("# from") == std::string::npos);
}

CAF_TEST(each file layer overrides the previous one and is named as their source) {
  auto etc = write("etc.toml", "[node]\nthreads = 3\n[log]\nlevel = \"debug\"\n[router]\n"
                               "batch = 10\n[api]\ntoken = \"etc\"\n");
  auto home = write("home.toml", "[log]\nlevel = \"warn\"\n[router]\nbatch = 20\n");
  auto named = write("named.toml", "[router]\nbatch = 30\n[api]\ntoken = \"named\"\n");
  auto given = write("given.toml", "\n[api]\ntoken = \"given\"\n");
  load_options options;
  options.implicit_files = {etc, home, (dir / "absent.toml").string()};
  options.env = {{"SWITCHYARD_CONFIG", named}};
  options.config_files = {given};
  auto loaded = load(options);
  CAF_CHECK(loaded.has_value());
  if (!loaded) return;
  CAF_CHECK_EQUAL(loaded->config.node.threads, 3);
  CAF_CHECK_EQUAL(loaded->config.log.level, "warn");
  CAF_CHECK_EQUAL(loaded->config.router.batch, 30);
  CAF_CHECK_EQUAL(loaded->config.api.token, "given");
  CAF_CHECK_EQUAL(loaded->source_of("node.threads").to_string(), etc + ":2");
  CAF_CHECK_EQUAL(loaded->source_of("log.level").to_string(), home + ":2");
  CAF_CHECK_EQUAL(loaded->source_of("router.batch").to_string(), named + ":2");
  CAF_CHECK_EQUAL(loaded->source_of("api.token").to_string(), given + ":3");
  CAF_CHECK_EQUAL(loaded->source_of("api.token").column, 1);
  CAF_CHECK_EQUAL(loaded->source_of("api.listen").to_string(), "default");
  auto text = loaded->render_text();
  CAF_CHECK(text.find("batch     = 30  # from " + named + ":2\n") != std::string::npos);
}

CAF_TEST(environment variables override files and are parsed by the key type) {
  load_options options;
  options.env = {{"SWITCHYARD_BROKER_URLS", "nats://a:4222, tls://b:4222"},
                 {"SWITCHYARD_ROUTER_INSTANCES", "0"},
                 {"SWITCHYARD_LOG_PUBLISH", "false"},
                 {"SWITCHYARD_HOUSEKEEPER_CRASHED_TTL", "1h30m"},
                 {"SWITCHYARD_LOG_LEVELS", "router=debug, broker=warn"},
                 {"SWITCHYARD_API_TOKEN", "s3cret=="},
                 {"HOME", "/nowhere"}};
  auto loaded =
      load_text("[broker]\nurls = [\"nats://file:1\"]\n[router]\ninstances = 4\n", options);
  CAF_CHECK(loaded.has_value());
  if (!loaded) return;
  const auto& c = loaded->config;
  CAF_CHECK((c.broker.urls == std::vector<std::string>{"nats://a:4222", "tls://b:4222"}));
  CAF_CHECK_EQUAL(c.router.instances, 0);
  CAF_CHECK(!c.log.publish);
  CAF_CHECK(c.housekeeper.crashed_ttl == 90min);
  CAF_CHECK((c.log.levels ==
             std::map<std::string, std::string>{{"broker", "warn"}, {"router", "debug"}}));
  CAF_CHECK_EQUAL(c.api.token, "s3cret==");
  CAF_CHECK_EQUAL(loaded->source_of("broker.urls").to_string(), "env SWITCHYARD_BROKER_URLS");
  CAF_CHECK_EQUAL(loaded->source_of("log.levels.router").to_string(), "env SWITCHYARD_LOG_LEVELS");
}

CAF_TEST(flags override the environment) {
  load_options options;
  options.env = {{"SWITCHYARD_LOG_LEVEL", "warn"}, {"SWITCHYARD_BROKER_URLS", "nats://a:1"}};
  options.overrides = {"log.level=error", "api.max_body=1024",
                       "broker.urls=", "node.shutdown_grace=0s", "log.level=critical"};
  auto loaded = load(options);
  CAF_CHECK(loaded.has_value());
  if (!loaded) return;
  CAF_CHECK_EQUAL(loaded->config.log.level, "critical");
  CAF_CHECK_EQUAL(loaded->config.api.max_body, 1024);
  CAF_CHECK(loaded->config.broker.urls.empty());
  CAF_CHECK(loaded->config.node.shutdown_grace == 0ms);
  CAF_CHECK_EQUAL(loaded->source_of("log.level").to_string(), "flag log.level");
  auto json = loaded->render_json();
  CAF_CHECK_EQUAL(json["log"]["level"]["source"], "flag log.level");
}

CAF_TEST(log levels merge item by item across layers) {
  load_options options;
  options.implicit_files = {
      write("base.toml", "[log.levels]\nrouter = \"debug\"\nstore = \"info\"\n")};
  options.env = {{"SWITCHYARD_LOG_LEVELS", "store=trace"}};
  auto loaded = load(options);
  CAF_CHECK(loaded.has_value());
  if (!loaded) return;
  CAF_CHECK((loaded->config.log.levels ==
             std::map<std::string, std::string>{{"router", "debug"}, {"store", "trace"}}));
  CAF_CHECK_EQUAL(loaded->source_of("log.levels.router").to_string(),
                  options.implicit_files[0] + ":2");
  CAF_CHECK_EQUAL(loaded->source_of("log.levels.store").to_string(), "env SWITCHYARD_LOG_LEVELS");
  auto text = loaded->render_text();
  CAF_CHECK(text.find("levels.router = \"debug\"  # from " + options.implicit_files[0] + ":2") !=
            std::string::npos);
}

CAF_TEST(a later file consumer list replaces the earlier one) {
  auto consumer = [](const std::string& id) {
    return "[[consumer]]\nidentity = \"" + id + "\"\nplugin = \"p\"\nfilters = [{}]\n";
  };
  load_options options;
  options.implicit_files = {write("a.toml", consumer("a") + consumer("b")),
                            write("b.toml", consumer("c")), write("c.toml", "[log]\n")};
  auto loaded = load(options);
  CAF_CHECK(loaded.has_value());
  if (!loaded) return;
  CAF_CHECK_EQUAL(loaded->config.consumers.size(), 1u);
  CAF_CHECK_EQUAL(loaded->config.consumers.at(0).identity, "c");
  CAF_CHECK_EQUAL(loaded->consumer_source_of(0, "identity").to_string(),
                  options.implicit_files[1] + ":2");
  options.config_files = {write("d.toml", "consumer = []\n")};
  auto cleared = load(options);
  CAF_CHECK(cleared && cleared->config.consumers.empty());
}

CAF_TEST(consumer tables keep plugin configuration intact with its locations) {
  auto loaded = load_text(consumer_toml);
  CAF_CHECK(loaded.has_value());
  if (!loaded || loaded->config.consumers.size() != 1) return;
  auto path = (dir / "node.toml").string();
  const auto& c = loaded->config.consumers[0];
  CAF_CHECK_EQUAL(c.identity, "classifier");
  CAF_CHECK_EQUAL(c.concurrency, 4);
  CAF_CHECK(c.task_timeout == 90min);
  CAF_CHECK(c.heartbeat == 30s);
  CAF_CHECK(c.persistent);
  CAF_CHECK_EQUAL(c.max_deliver, 7);
  CAF_CHECK_EQUAL(loaded->consumer_source_of(0, "max_deliver").to_string(),
                  "default (broker.max_deliver)");
  CAF_CHECK_EQUAL(c.filters.json,
                  value::parse(R"([{"type":"sample","kind":"raw"},{"type":"other"}])"));
  CAF_CHECK_EQUAL(c.scheduler.name, "sy.schedulers.priority_queue");
  CAF_CHECK_EQUAL(c.scheduler.config.json,
                  value::parse(R"({"maxsize":10000,"allow_priority_updates":true})"));
  CAF_CHECK_EQUAL(c.ranker.name, "sy.rankers.priority");
  CAF_CHECK_EQUAL(c.ranker.config.json, value::object());
  CAF_CHECK_EQUAL(c.config.json, value::parse(R"({"service_time_ms":2,"at":"1979-05-27T07:32:00Z",
      "emit":[{"type":"sample","stage":"recognized"}]})"));
  CAF_CHECK_EQUAL(c.scheduler.config.locate("maxsize"),
                  path + ":10: [consumer] #1 key \"scheduler.config.maxsize\"");
  CAF_CHECK_EQUAL(c.config.where("emit[0].stage").to_string(), path + ":11");
  CAF_CHECK_EQUAL(c.ranker.config.locate(""), path + ":4: [consumer] #1 key \"ranker.config\"");
}

CAF_TEST(the rendered text reads back as the same configuration) {
  load_options options;
  options.env = {{"SWITCHYARD_LOG_LEVELS", "router=debug"}, {"SWITCHYARD_API_LISTEN", "[::1]:0"}};
  auto loaded = load_text(consumer_toml, options);
  CAF_CHECK(loaded.has_value());
  if (!loaded) return;
  auto text = loaded->render_text();
  CAF_MESSAGE("rendered:\n" << text);
  auto again = load_text(text);
  CAF_CHECK_EQUAL(error_of(again), "loaded");
  if (!again) return;
  CAF_CHECK_EQUAL(values_of(again->render_json()), values_of(loaded->render_json()));
  auto json = loaded->render_json();
  CAF_CHECK_EQUAL(json["consumer"][0]["concurrency"]["value"], 4);
  CAF_CHECK_EQUAL(json["consumer"][0]["concurrency"]["source"],
                  (dir / "node.toml").string() + ":8");
  CAF_CHECK_EQUAL(json["log"]["levels"]["item_sources"]["router"], "env SWITCHYARD_LOG_LEVELS");
  CAF_CHECK_EQUAL(json["housekeeper"]["crashed_ttl"]["value"], "3d");
}

CAF_TEST(docs CONFIG md documents every key and environment variable) {
  auto loaded = load_text(consumer_toml);
  CAF_CHECK(loaded.has_value());
  if (!loaded) return;
  std::ifstream in(std::string{SY_SOURCE_DIR} + "/docs/CONFIG.md");
  std::stringstream doc;
  doc << in.rdbuf();
  std::string missing;
  auto json = loaded->render_json();
  for (const auto& [section, keys] : json.items()) {
    const auto& names = keys.is_array() ? keys.at(0) : keys;
    for (const auto& [key, entry] : names.items()) {
      if (doc.str().find("| `" + key + "` |") == std::string::npos)
        missing += " " + section + "." + key;
      if (keys.is_array()) continue;
      std::string var = "SWITCHYARD_" + section + "_" + key;
      for (auto& ch : var)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (doc.str().find(var) == std::string::npos) missing += " " + var;
    }
  }
  CAF_CHECK_EQUAL(missing, "");
}

CAF_TEST_FIXTURE_SCOPE_END()
