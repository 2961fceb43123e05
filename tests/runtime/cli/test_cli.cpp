#define CAF_SUITE runtime.cli
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "tests/support/node_process.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>

using sy::test::run_cli;

namespace {

/// Runs the CLI with stderr folded into the output.
int run(const std::string& args, std::string& out) {
  return run_cli(args + " 2>&1", &out);
}

bool contains(const std::string& text, const std::string& part) {
  bool ok = text.find(part) != std::string::npos;
  if (!ok) CAF_MESSAGE("output [" << text << "] lacks [" << part << "]");
  return ok;
}

std::string write_temp(const std::string& name, const std::string& text) {
  auto path =
      std::filesystem::temp_directory_path() / ("sy-cli-" + std::to_string(getpid()) + name);
  std::ofstream{path} << text;
  return path.string();
}

} // namespace

CAF_TEST(match answers with exit codes 0 and 1) {
  std::string out;
  CAF_CHECK_EQUAL(
      run(R"(match --filters '[{"type": "sample", "kind": "!raw"}]' --headers '{"type": "sample", "kind": "exe"}')",
          out),
      0);
  CAF_CHECK_EQUAL(out, "match\n");
  CAF_CHECK_EQUAL(
      run(R"(match --filters '[{"type": "sample", "kind": "!raw"}]' --headers '{"type": "sample", "kind": "raw"}')",
          out),
      1);
  CAF_CHECK_EQUAL(out, "no match\n");
  CAF_CHECK_EQUAL(run(R"(match --json --filters '[{}]' --headers '{}')", out), 0);
  CAF_CHECK_EQUAL(out, "{\"match\":true}\n");
}

CAF_TEST(match rejects bad filters and json with exit code 2) {
  std::string out;
  CAF_CHECK_EQUAL(run(R"(match --filters '[{"v": {"$gtx": 3}}]' --headers '{}')", out), 2);
  CAF_CHECK(contains(out, R"(filter rule 0, header "v": unknown operator "$gtx")"));
  CAF_CHECK_EQUAL(run(R"(match --filters '[{"v": {"$in": 3}}]' --headers '{}')", out), 2);
  CAF_CHECK(contains(out, "\"$in\" needs a list"));
  CAF_CHECK_EQUAL(run(R"(match --filters '[{' --headers '{}')", out), 2);
  CAF_CHECK(contains(out, "not valid JSON"));
  CAF_CHECK_EQUAL(run(R"(match --filters '[{}]' --headers '[1]')", out), 2);
  CAF_CHECK(contains(out, "--headers"));
}

CAF_TEST(usage errors exit 2 and help and version exit 0) {
  std::string out;
  CAF_CHECK_EQUAL(run("", out), 2);
  CAF_CHECK_EQUAL(run("frobnicate", out), 2);
  CAF_CHECK_EQUAL(run("match --headers '{}'", out), 2); // --filters missing
  // Placing the server is for the scenarios that run one.
  CAF_CHECK_EQUAL(run("bench --scenario scheduler --split-cpus", out), 2);
  CAF_CHECK(
      contains(out, "--split-cpus, --cpu-latency-us, --rate and --crashed are for the route"));
  CAF_CHECK_EQUAL(run("bench --scenario api --crashed 5", out), 2);
  CAF_CHECK(contains(out, "--crashed are for the route"));
  CAF_CHECK_EQUAL(run("bench --scenario route --crashed -1", out), 2);
  CAF_CHECK_EQUAL(run("--version", out), 0);
  CAF_CHECK(contains(out, "switchyard 0."));
  for (const char* cmd : {"", "match", "config show", "node", "send"}) {
    CAF_CHECK_EQUAL(run(std::string{cmd} + " --help", out), 0);
    CAF_CHECK(contains(out, "Usage"));
  }
}

CAF_TEST(config show prints values with their source) {
  auto file = write_temp("show.toml", "[log]\nlevel = \"debug\"\n");
  std::string out;
  CAF_CHECK_EQUAL(run("config show --config " + file + " --set router.instances=3", out), 0);
  CAF_CHECK(contains(out, "= \"debug\"  # from " + file + ":2"));
  CAF_CHECK(contains(out, file + ":2"));
  CAF_CHECK(contains(out, "flag router.instances"));
  CAF_CHECK_EQUAL(run("config show --json --config " + file, out), 0);
  CAF_CHECK(contains(out, "\"debug\""));
  std::filesystem::remove(file);
}

CAF_TEST(a bad configuration stops a node before it starts with exit code 2) {
  auto file = write_temp("bad.toml", "[router]\ninstances = \"many\"\n");
  std::string out;
  CAF_CHECK_EQUAL(run("node --config " + file, out), 2);
  CAF_CHECK(contains(out, file + ":2"));
  CAF_CHECK(contains(out, "router.instances"));
  auto unknown_plugin = write_temp("plugin.toml", "[[consumer]]\nidentity = \"a\"\nplugin = "
                                                  "\"acme.nope\"\nfilters = [ {} ]\n");
  CAF_CHECK_EQUAL(run("node --config " + unknown_plugin, out), 2);
  CAF_CHECK(contains(out, "no consumer plugin named \"acme.nope\""));
  auto bad_filter = write_temp("filter.toml", "[[consumer]]\nidentity = \"a\"\nplugin = "
                                              "\"sy.consumers.noop\"\nfilters = [ { v = { "
                                              "\"$gtx\" = 1 } } ]\n");
  CAF_CHECK_EQUAL(run("node --config " + bad_filter, out), 2);
  CAF_CHECK(contains(out, "unknown operator \"$gtx\""));
  CAF_CHECK(contains(out, bad_filter + ":4"));
  auto bad_plugin_config = write_temp("pconf.toml", "[[consumer]]\nidentity = \"a\"\nplugin = "
                                                    "\"sy.consumers.synthetic\"\nfilters = [ {} "
                                                    "]\nconfig = { crash_probability = 2 }\n");
  CAF_CHECK_EQUAL(run("node --config " + bad_plugin_config, out), 2);
  CAF_CHECK(contains(out, "crash_probability"));
  for (const auto& f : {file, unknown_plugin, bad_filter, bad_plugin_config})
    std::filesystem::remove(f);
}

CAF_TEST(send without a broker says where it looked) {
  std::string out;
  CAF_CHECK_EQUAL(
      run("send --header type=x --set broker.embedded_port=1 --set broker.connect_timeout=500ms",
          out),
      2);
  CAF_CHECK(contains(out, "nats://127.0.0.1:1"));
  CAF_CHECK_EQUAL(run("send --set broker.embedded_port=1", out), 2);
  CAF_CHECK(contains(out, "--header"));
}
