#define CAF_SUITE runtime.config.errors
#include "caf/test/unit_test.hpp"
#include "config_fixture.hpp"

using namespace sy;
using namespace sy::config;

namespace {

const char* good_consumer = "[[consumer]]\nidentity = \"a\"\nplugin = \"p\"\nfilters = [{}]\n";

struct error_fixture : config_fixture {
  std::string path() const { return (dir / "node.toml").string(); }

  /// The error of loading `env` and `overrides` alone.
  static std::string error_of_layers(std::map<std::string, std::string> env,
                                     std::vector<std::string> overrides = {}) {
    load_options options;
    options.env = std::move(env);
    options.overrides = std::move(overrides);
    return error_of(load(options));
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(config_error_tests, error_fixture)

CAF_TEST(a toml syntax error names file line column and the parser description) {
  auto message = error_of("[log]\nlevel = \"info\"\npublish = \n");
  CAF_CHECK_EQUAL(message.rfind(path() + ":3:", 0), 0u);
  CAF_CHECK(message.find("TOML syntax error: ") != std::string::npos);
  auto result = load_text("[log\n");
  CAF_CHECK(!result && result.error().code == errc::config);
}

CAF_TEST(unknown keys are errors at top level in sections consumers and plugin choices) {
  CAF_CHECK_EQUAL(error_of("\nlogging = 1\n"),
                  path() + ":2: key \"logging\": unknown section \"logging\"; sections are: "
                           "node, broker, plugins, log, router, housekeeper, api, consumer");
  CAF_CHECK_EQUAL(error_of("[log]\nlevel = \"info\"\ncolour = true\n"),
                  path() +
                      ":3: key \"log.colour\": unknown key; [log] has: level, publish, levels");
  CAF_CHECK_EQUAL(
      error_of(std::string{good_consumer} + "concurency = 2\n"),
      path() + ":5: [consumer] #1 key \"concurency\": unknown key; [[consumer]] has: "
               "identity, plugin, filters, persistent, service_version, info, "
               "concurrency, task_timeout, lease, record_started_after, heartbeat, max_deliver, "
               "scheduler, ranker, "
               "config");
  CAF_CHECK_EQUAL(error_of(std::string{good_consumer} + good_consumer +
                           "scheduler = { name = \"s\", nmae = \"x\" }\n"),
                  path() + ":9: [consumer] #2 key \"scheduler.nmae\": unknown key; known keys "
                           "are: name, config");
  CAF_CHECK_EQUAL(error_of(std::string{good_consumer} + "ranker = { config = {} }\n"),
                  path() + ":5: [consumer] #1 key \"ranker\": missing required key \"name\"");
}

CAF_TEST(keys inside a plugin config table are the plugin business) {
  CAF_CHECK_EQUAL(error_of(std::string{good_consumer} +
                           "scheduler = { name = \"s\", config = { anything = [1, 2] } }\n" +
                           "config = { whatever = { deep = true } }\n"),
                  "loaded");
}

CAF_TEST(wrong types and out of range values name file key line and value) {
  CAF_CHECK_EQUAL(error_of("[router]\nbatch = \"four\"\n"),
                  path() +
                      ":2: key \"router.batch\": expected an integer in 1..10000, got \"four\"");
  CAF_CHECK_EQUAL(error_of("[router]\nbatch = 0\n"),
                  path() + ":2: key \"router.batch\": expected an integer in 1..10000, got 0");
  CAF_CHECK_EQUAL(
      error_of(std::string{good_consumer} + good_consumer + "\n\nconcurrency = \"four\"\n"),
      path() + ":11: [consumer] #2 key \"concurrency\": expected an integer in 1..4096, "
               "got \"four\"");
  CAF_CHECK_EQUAL(
      error_of("[node]\ncpu_latency_us = -5\n"),
      path() + ":2: key \"node.cpu_latency_us\": expected an integer in -1..1000000, got -5");
  CAF_CHECK_EQUAL(error_of("[log]\npublish = 1\n"),
                  path() + ":2: key \"log.publish\": expected true or false, got 1");
  CAF_CHECK_EQUAL(error_of("[broker]\nurls = [\"nats://a:1\",\n  \"http://b:2\"]\n"),
                  path() + ":3: key \"broker.urls[1]\": expected a URL starting with nats:// or "
                           "tls://, got \"http://b:2\"");
  CAF_CHECK_EQUAL(error_of("[broker]\nurls = \"nats://a:1\"\n"),
                  path() + ":2: key \"broker.urls\": expected an array of strings, got "
                           "\"nats://a:1\"");
  CAF_CHECK_EQUAL(error_of("[api]\nlisten = \"localhost\"\n"),
                  path() + ":2: key \"api.listen\": expected \"host:port\" with a port in "
                           "0..65535, or \"\" to disable; got \"localhost\"");
  CAF_CHECK_EQUAL(error_of("log = \"debug\"\n"),
                  path() + ":1: key \"log\": expected a table [log], got \"debug\"");
}

CAF_TEST(bad enum values list the accepted ones) {
  CAF_CHECK_EQUAL(error_of("[broker]\nstorage = \"disk\"\n"),
                  path() +
                      ":2: key \"broker.storage\": expected one of file, memory; got \"disk\"");
  CAF_CHECK_EQUAL(error_of_layers({{"SWITCHYARD_LOG_LEVEL", "loud"}}),
                  "env SWITCHYARD_LOG_LEVEL: key \"log.level\": expected one of trace, debug, "
                  "info, warn, error, critical, off; got \"loud\"");
  CAF_CHECK_EQUAL(error_of("[log.levels]\nrouter = \"chatty\"\n"),
                  path() + ":2: key \"log.levels.router\": expected one of trace, debug, info, "
                           "warn, error, critical, off; got \"chatty\"");
  CAF_CHECK_EQUAL(error_of("[node]\nthread_policy = \"greedy\"\n"),
                  path() + ":2: key \"node.thread_policy\": expected one of sharing, stealing; "
                           "got \"greedy\"");
}

CAF_TEST(bad durations are rejected with the key and line) {
  CAF_CHECK_EQUAL(error_of("[housekeeper]\ncrashed_ttl = \"72 hours\"\n"),
                  path() + ":2: key \"housekeeper.crashed_ttl\": expected a duration of at least "
                           "1ms like \"30s\" or \"1h30m\", got \"72 hours\"");
  CAF_CHECK_EQUAL(error_of("[housekeeper]\ncrashed_ttl = 72\n"),
                  path() + ":2: key \"housekeeper.crashed_ttl\": expected a duration of at least "
                           "1ms like \"30s\" or \"1h30m\", got 72");
  CAF_CHECK_EQUAL(error_of_layers({{"SWITCHYARD_NODE_HEARTBEAT_INTERVAL", "-5s"}}),
                  "env SWITCHYARD_NODE_HEARTBEAT_INTERVAL: key \"node.heartbeat_interval\": "
                  "expected a duration of at least 1ms like \"30s\" or \"1h30m\", got \"-5s\"");
  CAF_CHECK_EQUAL(error_of(std::string{good_consumer} + "heartbeat = \"0s\"\n"),
                  path() + ":5: [consumer] #1 key \"heartbeat\": expected a duration of at least "
                           "1ms like \"30s\" or \"1h30m\", got \"0s\"");
}

CAF_TEST(consumer identities must be valid and unique and required keys set) {
  CAF_CHECK_EQUAL(error_of("[[consumer]]\nidentity = \"Classifier\"\n"),
                  path() + ":2: [consumer] #1 key \"identity\": expected an identity matching "
                           "[a-z0-9][a-z0-9._-]*, got \"Classifier\"");
  CAF_CHECK_EQUAL(error_of(std::string{good_consumer} + "\n" + good_consumer),
                  path() +
                      ":7: [consumer] #2 key \"identity\": \"a\" is already the identity of "
                      "[consumer] #1 at " +
                      path() + ":2");
  CAF_CHECK_EQUAL(error_of("[[consumer]]\nidentity = \"a\"\nfilters = []\n"),
                  path() + ":1: [consumer] #1 key \"plugin\": required, but not set");
  CAF_CHECK_EQUAL(error_of("[[consumer]]\nidentity = \"a\"\nplugin = \"p\"\nfilters = [\"x\"]\n"),
                  path() + ":4: [consumer] #1 key \"filters[0]\": expected a table like "
                           "{ type = \"sample\" }, got \"x\"");
  CAF_CHECK_EQUAL(error_of("[consumer]\nidentity = \"a\"\n"),
                  path() + ":1: key \"consumer\": expected an array of tables [[consumer]], "
                           "got a table");
}

CAF_TEST(explicit files must exist and implicit ones may be absent) {
  auto absent = (dir / "absent.toml").string();
  load_options options;
  options.implicit_files = {absent};
  CAF_CHECK_EQUAL(error_of(load(options)), "loaded");
  options.config_files = {absent};
  auto result = load(options);
  CAF_CHECK(!result && result.error().code == errc::not_found);
  CAF_CHECK_EQUAL(error_of(result),
                  "configuration file " + absent + " (from --config) does not exist");
  options.config_files.clear();
  options.env = {{"SWITCHYARD_CONFIG", absent}};
  CAF_CHECK_EQUAL(error_of(load(options)),
                  "configuration file " + absent + " (from $SWITCHYARD_CONFIG) does not exist");
}

CAF_TEST(an error in an overridden layer is still reported) {
  load_options options;
  options.implicit_files = {write("base.toml", "[router]\nbatch = -1\n")};
  CAF_CHECK_EQUAL(error_of("[router]\nbatch = 5\n", options),
                  options.implicit_files[0] +
                      ":2: key \"router.batch\": expected an integer in 1..10000, got -1");
}

CAF_TEST(unknown switchyard variables and bad values from the environment are errors) {
  CAF_CHECK_EQUAL(error_of_layers({{"SWITCHYARD_LOG_LEVL", "info"}}),
                  "env SWITCHYARD_LOG_LEVL: key \"log.levl\": unknown key; [log] has: level, "
                  "publish, levels");
  CAF_CHECK_EQUAL(error_of_layers({{"SWITCHYARD_VERBOSE", "1"}}),
                  "env SWITCHYARD_VERBOSE: key \"verbose\": unknown section \"verbose\"; sections "
                  "are: node, broker, plugins, log, router, housekeeper, api, consumer");
  CAF_CHECK_EQUAL(error_of_layers({{"SWITCHYARD_CONSUMER_IDENTITY", "a"}}),
                  "env SWITCHYARD_CONSUMER_IDENTITY: key \"consumer.identity\": [[consumer]] "
                  "tables can only be set in configuration files");
  CAF_CHECK_EQUAL(error_of_layers({{"SWITCHYARD_ROUTER_BATCH", "many"}}),
                  "env SWITCHYARD_ROUTER_BATCH: key \"router.batch\": expected an integer in "
                  "1..10000, got \"many\"");
  CAF_CHECK_EQUAL(error_of_layers({{"SWITCHYARD_LOG_PUBLISH", "yes"}}),
                  "env SWITCHYARD_LOG_PUBLISH: key \"log.publish\": expected true or false, got "
                  "\"yes\"");
  CAF_CHECK_EQUAL(error_of_layers({{"SWITCHYARD_BROKER_URLS", "nats://a:1,nats:/b"}}),
                  "env SWITCHYARD_BROKER_URLS: key \"broker.urls[1]\": expected a URL starting "
                  "with nats:// or tls://, got \"nats:/b\"");
  CAF_CHECK_EQUAL(error_of_layers({{"SWITCHYARD_LOG_LEVELS", "router"}}),
                  "env SWITCHYARD_LOG_LEVELS: key \"log.levels\": expected name=value pairs "
                  "separated by commas, got \"router\"");
  CAF_CHECK_EQUAL(error_of_layers({{"SWITCHYARD_CONFIG_FILE", "x"}}),
                  "env SWITCHYARD_CONFIG_FILE: key \"config.file\": unknown section \"config\"; "
                  "sections are: node, broker, plugins, log, router, housekeeper, api, consumer");
}

CAF_TEST(malformed and unknown flags are errors naming the flag) {
  CAF_CHECK_EQUAL(error_of_layers({}, {"loglevel"}),
                  "flag \"loglevel\": expected section.key=value");
  CAF_CHECK_EQUAL(
      error_of_layers({}, {"log.nope=1"}),
      "flag log.nope: key \"log.nope\": unknown key; [log] has: level, publish, levels");
  CAF_CHECK_EQUAL(error_of_layers({}, {"node.threads=65"}),
                  "flag node.threads: key \"node.threads\": expected an integer in 1..64, got "
                  "\"65\"");
}

CAF_TEST_FIXTURE_SCOPE_END()
