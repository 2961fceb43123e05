#define CAF_SUITE runtime.sim
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/sim/report.hpp"
#include "runtime/sim/scenario.hpp"

#include <cstdio>
#include <fstream>
#include <unistd.h>

using namespace sy;
using namespace sy::sim;

namespace {

sim::root_record root(priority p, double sent, double done) {
  sim::root_record r;
  r.prio = p;
  r.sent = sent;
  r.done = done;
  return r;
}

/// Loads `text` as a scenario file and returns the error message ("" if it
/// loaded).
std::string load_error(const std::string& text) {
  auto path = "/tmp/sy-scenario-" + std::to_string(getpid()) + ".toml";
  std::ofstream{path} << text;
  auto s = load_scenario(path);
  std::remove(path.c_str());
  if (s) return "";
  auto message = s.error().message;
  return message.substr(message.find(".toml:") + 6); // "LINE: ..."
}

constexpr const char* minimal = R"(
[simulation]
node_config = "[router]\ninstances = 1\n"
[[node]]
name = "a"
[[producer]]
rate = 10
count = 5
headers = { type = "sample" }
)";

} // namespace

CAF_TEST(inversions count low roots sent later and done earlier than a high one) {
  std::vector<sim::root_record> roots{
      root(priority::high, 0, 10), // overtaken by the two lows sent at 1 and 2
      root(priority::low, 1, 5),   //
      root(priority::low, 2, 8),   //
      root(priority::low, 3, 12),  // done after the high one: fine
      root(priority::high, 4, 6),  // overtaken by nobody (the low of 3 ends at 12)
      root(priority::normal, 5, 5.5), root(priority::low, 0.5, -1), // never done: not counted
  };
  CAF_CHECK_EQUAL(count_priority_inversions(roots), 2u);
  CAF_CHECK_EQUAL(count_priority_inversions({}), 0u);
}

CAF_TEST(the report counts lost roots and latencies) {
  scenario s;
  s.name = "t";
  s.producers.resize(1);
  std::vector<sim::root_record> roots{root(priority::normal, 0, 0.1),
                                      root(priority::normal, 1, 1.3),
                                      root(priority::normal, 2, -1)};
  roots[0].finished = 2;
  roots[1].finished = 1;
  roots[1].crashed = 1;
  std::vector<sample> samples(2);
  samples[1].t = 2;
  samples[1].completed = 2;
  samples[1].depth["worker"] = 3;
  auto r = make_report(s, roots, samples, {{1.5, "kill a"}}, value::object(), 2);
  CAF_CHECK_EQUAL(r["sent"], 3);
  CAF_CHECK_EQUAL(r["completed"], 2);
  CAF_CHECK_EQUAL(r["lost"], 1);
  CAF_CHECK_EQUAL(r["tasks_finished"], 3);
  CAF_CHECK_EQUAL(r["tasks_crashed"], 1);
  CAF_CHECK_EQUAL(r["latency"]["max_ms"].get<double>(), 300.0);
  CAF_CHECK_EQUAL(r["series"][1]["completed_per_s"].get<double>(), 1.0);
  auto svg = render_svg("t", samples, {{1.5, "kill a"}});
  CAF_CHECK(svg.find("kill a") != std::string::npos);
  CAF_CHECK(svg.find(">worker<") != std::string::npos);
}

CAF_TEST(scenario errors name the line and the key) {
  CAF_CHECK_EQUAL(load_error(minimal), "");
  CAF_CHECK_EQUAL(load_error(std::string{minimal} +
                             "[[fault]]\nat = \"1s\"\naction = \"kill\"\nnode = \"z\"\n"),
                  "13: [[fault]] #1 key \"node\": names no [[node]] of this scenario: \"z\"");
  CAF_CHECK_EQUAL(load_error(std::string{minimal} +
                             "[[fault]]\nat = \"soon\"\naction = \"kill\"\nnode = \"a\"\n"),
                  "11: [[fault]] #1 key \"at\": must be a duration such as \"500ms\", \"10s\"");
  CAF_CHECK_EQUAL(
      load_error(std::string{minimal} + "[[producer]]\nrate = 5\nheaders = { a = 1 }\n"),
      "10: [[producer]] #2: give \"count\" or \"duration\" (or both): a producer must end");
  CAF_CHECK_EQUAL(load_error("[simulation]\nbroker = \"mesh\"\n[[node]]\nname = \"a\"\n"),
                  "2: [simulation] key \"broker\": must be \"single\" or \"cluster\"");
  CAF_CHECK_EQUAL(load_error("[simulation]\nspeed = 1\n"),
                  "2: [simulation] key \"speed\": unknown key; [simulation] has: broker, "
                  "description, drain_timeout, name, node_config, sample_interval, storage");
  CAF_CHECK_EQUAL(load_error("[[node]]\nname = \"a\"\n"),
                  "1: [[node]] #1 key \"config\": no configuration: give [simulation] node_config "
                  "or this node's config");
}
