#define CAF_SUITE integration.simulate
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/core/value.hpp"
#include "tests/support/node_process.hpp"

#include <cstdio>
#include <fstream>
#include <unistd.h>

using namespace sy;
using namespace sy::test;

namespace {

struct run {
  int code = -1;
  value report;
  std::string svg;
  std::string out;
};

/// Runs `switchyard simulate` on a scenario of tests/data/scenarios.
run simulate(const std::string& name) {
  auto base = "/tmp/sy-sim-test-" + std::to_string(getpid()) + "-" + name;
  run r;
  r.code = run_cli("simulate " SY_SOURCE_DIR "/tests/data/scenarios/" + name +
                       ".toml --quiet --json " + base + ".json --plot " + base + ".svg 2>&1",
                   &r.out);
  std::ifstream json{base + ".json"};
  r.report = value::parse(std::string{std::istreambuf_iterator<char>{json}, {}}, nullptr, false);
  std::ifstream svg{base + ".svg"};
  r.svg = std::string{std::istreambuf_iterator<char>{svg}, {}};
  std::remove((base + ".json").c_str());
  std::remove((base + ".svg").c_str());
  return r;
}

} // namespace

CAF_TEST(a node killed and restarted mid run loses nothing) {
  auto r = simulate("node-crash-short");
  if (r.code != 0) CAF_FAIL("simulate exited " << r.code << ":\n" << r.out);
  CAF_REQUIRE(r.report.is_object());
  auto sent = r.report["sent"].get<int>();
  CAF_CHECK(sent >= 500); // 100/s for 6 s
  CAF_CHECK_EQUAL(r.report["lost"], 0);
  CAF_CHECK_EQUAL(r.report["completed"], sent);
  // Both stages ran every root (at least once).
  CAF_CHECK(r.report["tasks_finished"].get<int>() >= 2 * sent);
  CAF_CHECK_EQUAL(r.report["faults"].size(), 2u);
  CAF_CHECK_EQUAL(r.report["faults"][0]["fault"], "kill b");
  CAF_CHECK(r.svg.find("<svg") == 0);
  CAF_CHECK(r.svg.find("kill b") != std::string::npos);
  CAF_CHECK(r.svg.find("classifier") != std::string::npos);
}

CAF_TEST(a broker restarted mid run loses nothing it accepted) {
  auto r = simulate("broker-restart-short");
  if (r.code != 0) CAF_FAIL("simulate exited " << r.code << ":\n" << r.out);
  CAF_REQUIRE(r.report.is_object());
  CAF_CHECK(r.report["sent"].get<int>() > 0);
  CAF_CHECK_EQUAL(r.report["lost"], 0);
  CAF_CHECK_EQUAL(r.report["completed"], r.report["sent"]);
  CAF_CHECK_EQUAL(r.report["faults"][1]["fault"], "start_broker server 1");
}

CAF_TEST(tasks that cannot complete are reported lost with exit 1) {
  auto r = simulate("nobody-left");
  CAF_CHECK_EQUAL(r.code, 1);
  CAF_REQUIRE(r.report.is_object());
  CAF_CHECK_EQUAL(r.report["sent"], 20);
  CAF_CHECK_EQUAL(r.report["lost"], 20);
  CAF_CHECK(r.out.find("20 accepted root(s) never completed") != std::string::npos);
}

CAF_TEST(a bad scenario names the file line and key) {
  auto r = simulate("bad");
  CAF_CHECK_EQUAL(r.code, 2);
  CAF_CHECK(r.out.find("bad.toml:14: [[fault]] #1 key \"action\": must be kill, restart") !=
            std::string::npos);
}
