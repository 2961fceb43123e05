// The plugin SDK as a user gets it: `cmake --install` into a prefix, the
// out-of-tree examples built against that prefix alone, and a node that
// loads them and runs an analysis through them.
#define CAF_SUITE integration.sdk
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "tests/integration/pipeline_fixture.hpp"

#include <cstdlib>
#include <filesystem>

using namespace sy;
using namespace sy::test;

namespace {

namespace fs = std::filesystem;

/// Runs a shell command, its output into `log`; true when it exits 0.
bool run(const std::string& command, const std::string& log) {
  return std::system((command + " >>" + log + " 2>&1").c_str()) == 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

struct sdk_fixture : pipeline_fixture {
  std::string dir;
  std::string log;

  sdk_fixture() {
    char tmpl[] = "/tmp/sy-sdk-test-XXXXXX";
    dir = mkdtemp(tmpl);
    log = dir + "/build.log";
  }

  ~sdk_fixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  /// Installs the SDK, builds the example in plugins/examples/`name`
  /// against it, and copies the module into `dir`/plugins.
  void build_example(const std::string& name) {
    auto prefix = dir + "/prefix";
    if (!fs::exists(prefix) && !run("cmake --install " SY_BINARY_DIR " --prefix " + prefix, log))
      CAF_FAIL("cmake --install failed:\n" << read_file(log));
    auto build = dir + "/build-" + name;
    if (!run("cmake -S " SY_SOURCE_DIR "/plugins/examples/" + name + " -B " + build +
                 " -DCMAKE_PREFIX_PATH=" + prefix + " -DCMAKE_BUILD_TYPE=Release",
             log) ||
        !run("cmake --build " + build, log))
      CAF_FAIL("building example " << name << " failed:\n" << read_file(log));
    fs::create_directories(dir + "/plugins");
    fs::copy_file(build + "/" + name + ".so", dir + "/plugins/" + name + ".so");
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(sdk_tests, sdk_fixture)

CAF_TEST(out of tree example plugins build against the installed sdk and run in a node) {
  build_example("severity_ranker");
  build_example("tagger_consumer");
  // The examples must not reach into the source tree: only the prefix.
  CAF_CHECK(
      read_file(dir + "/build-tagger_consumer/CMakeCache.txt").find(SY_SOURCE_DIR "/runtime") ==
      std::string::npos);
  node_process node{
      "[plugins]\ndirs = [\"" + dir +
          "/plugins\"]\n[router]\ninstances = 1\n"
          "[[consumer]]\nidentity = \"tag\"\nplugin = \"example.consumers.tagger\"\n"
          "filters = [{type = \"sample\"}]\nconfig = { tag = \"checked\" }\n"
          "ranker = { name = \"example.rankers.severity\", config = { class_weight = 10 } }\n"
          "scheduler = { name = \"sy.schedulers.priority_queue\" }\n" +
          consumer("sink", R"([{type = "tagged", tag = "checked"}])"),
      server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  auto root = send({{"type", "sample"}, {"severity", 7}});
  if (!wait_event(root)) CAF_FAIL("no analysis event; node log:\n" << node.log_text());
  CAF_CHECK_EQUAL(receivers(root, "Finished"), (std::multiset<std::string>{"tag", "sink"}));
  CAF_CHECK(node.wait_for_log("tagging as checked"));
}

CAF_TEST_FIXTURE_SCOPE_END()
