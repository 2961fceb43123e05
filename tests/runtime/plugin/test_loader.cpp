#define CAF_SUITE plugin.loader
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/plugin/loader.hpp"
#include "tests/support/node_process.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace sy;

namespace {

std::string plugin_dir(const std::string& name) {
  return std::string{SY_TEST_PLUGINS} + "/" + name;
}

std::string plugin_file(const std::string& name) {
  return plugin_dir(name) + "/" + name + ".so";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// A temporary directory, removed at the end of the test.
struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/sy-plugin-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    auto file = path + "/" + name;
    std::ofstream{file} << text;
    return file;
  }
};

/// The message of loading `path` into a registry holding the built-ins.
std::string load_error(const std::string& path) {
  plugin::registry reg;
  plugin::add_builtins(reg);
  auto r = plugin::load_library(path, reg);
  return r ? std::string{} : r.error().message;
}

/// Runs `switchyard node` on a config of `[plugins] dirs` plus `consumer`
/// (a [[consumer]] table body); returns its exit code and output.
int run_node(const temp_dir& tmp, const std::string& dir, const std::string& consumer,
             std::string* out) {
  auto config = tmp.write("node.toml", "[plugins]\ndirs = [\"" + dir +
                                           "\"]\n\n[[consumer]]\nidentity = \"work\"\nfilters = "
                                           "[{type = \"job\"}]\n" +
                                           consumer);
  return test::run_cli("node --config " + config + " 2>&1", out);
}

} // namespace

CAF_TEST(a working plugin adds its factories under their names) {
  plugin::registry reg;
  plugin::add_builtins(reg);
  auto loaded = plugin::load_directories({plugin_dir("good")}, reg);
  CAF_REQUIRE(loaded.has_value());
  auto tagger = reg.find_consumer("test.consumers.tagger");
  CAF_REQUIRE(tagger != nullptr);
  CAF_CHECK_EQUAL(tagger->origin, plugin_file("good"));
  CAF_CHECK(tagger->create(value{{"tag", "x"}}).has_value());
  CAF_CHECK(!tagger->validate(value{{"tag", 5}}).has_value());
  auto reverse = reg.find_ranker("test.rankers.reverse");
  CAF_REQUIRE(reverse != nullptr);
  auto ranker = reverse->create(value::object());
  CAF_REQUIRE(ranker.has_value());
  auto low = make_task({{"type", "job"}}, value::object(), priority::low);
  auto high = make_task({{"type", "job"}}, value::object(), priority::high);
  CAF_CHECK_GREATER((*ranker)->score(low, {}), (*ranker)->score(high, {}));
  CAF_CHECK(contains(reg.consumer_names(), "test.consumers.tagger"));
}

CAF_TEST(a file that is not a shared library is refused by name) {
  temp_dir tmp;
  auto file = tmp.write("notes.so", "just some text\n");
  auto why = load_error(file);
  CAF_CHECK(contains(why, file));
  CAF_CHECK(contains(why, "not a shared library"));
}

CAF_TEST(a library without the entry symbol is refused by name) {
  auto why = load_error(plugin_file("no_entry"));
  CAF_CHECK(contains(why, plugin_file("no_entry")));
  CAF_CHECK(contains(why, "no entry symbol \"switchyard_plugin\""));
}

CAF_TEST(a library built for another ABI is refused before its table is read) {
  // The library's table function aborts: the loader must not call it.
  auto why = load_error(plugin_file("abi_mismatch"));
  CAF_CHECK(contains(why, plugin_file("abi_mismatch")));
  CAF_CHECK(contains(why, "ABI mismatch"));
  CAF_CHECK(contains(why, "switchyard-plugin 0"));
}

CAF_TEST(a plugin name already taken is refused naming both origins) {
  auto why = load_error(plugin_file("duplicate"));
  CAF_CHECK(contains(why, plugin_file("duplicate")));
  CAF_CHECK(contains(why, "consumer \"sy.consumers.noop\""));
  CAF_CHECK(contains(why, "already provided by built-in"));
}

CAF_TEST(a plugin directory that does not exist is an error) {
  plugin::registry reg;
  auto r = plugin::load_directories({"/nonexistent/switchyard-plugins"}, reg);
  CAF_REQUIRE(!r.has_value());
  CAF_CHECK(contains(r.error().message, "/nonexistent/switchyard-plugins"));
}

CAF_TEST(a node refuses to start on a broken plugin and says which file and why) {
  temp_dir tmp;
  std::string out;
  CAF_CHECK_EQUAL(
      run_node(tmp, plugin_dir("abi_mismatch"), "plugin = \"sy.consumers.noop\"\n", &out), 2);
  CAF_CHECK(contains(out, plugin_file("abi_mismatch")));
  CAF_CHECK(contains(out, "ABI mismatch"));
  CAF_CHECK(contains(out, "plugins.dirs") || contains(out, "\"dirs\""));

  tmp.write("broken.so", "not a library");
  CAF_CHECK_EQUAL(run_node(tmp, tmp.path, "plugin = \"sy.consumers.noop\"\n", &out), 2);
  CAF_CHECK(contains(out, tmp.path + "/broken.so"));
  CAF_CHECK(contains(out, "not a shared library"));
}

CAF_TEST(a node refuses an unknown plugin name naming the key) {
  temp_dir tmp;
  std::string out;
  CAF_CHECK_EQUAL(run_node(tmp, plugin_dir("good"), "plugin = \"test.consumers.nope\"\n", &out), 2);
  CAF_CHECK(contains(out, "node.toml"));
  CAF_CHECK(contains(out, "key \"plugin\""));
  CAF_CHECK(contains(out, "no consumer plugin named \"test.consumers.nope\""));
  CAF_CHECK(contains(out, "test.consumers.tagger")); // among the known ones
  CAF_CHECK_EQUAL(
      run_node(tmp, plugin_dir("good"),
               "plugin = \"sy.consumers.noop\"\nranker = { name = \"test.rankers.nope\" }\n", &out),
      2);
  CAF_CHECK(contains(out, "key \"ranker.name\""));
  CAF_CHECK(contains(out, "test.rankers.reverse"));
}

CAF_TEST(a node refuses an invalid plugin config naming the key) {
  temp_dir tmp;
  std::string out;
  CAF_CHECK_EQUAL(run_node(tmp, plugin_dir("good"),
                           "plugin = \"test.consumers.tagger\"\nconfig = { tag = 5 }\n", &out),
                  2);
  CAF_CHECK(contains(out, "node.toml:"));
  CAF_CHECK(contains(out, "key \"config\""));
  CAF_CHECK(contains(out, "key \"tag\": expected a string"));
  CAF_CHECK_EQUAL(run_node(tmp, plugin_dir("good"),
                           "plugin = \"sy.consumers.noop\"\nscheduler = { name = "
                           "\"sy.schedulers.priority_queue\", config = { maxsize = -1 } }\n",
                           &out),
                  2);
  CAF_CHECK(contains(out, "key \"scheduler.config\""));
  CAF_CHECK(contains(out, "key \"maxsize\""));
}

CAF_TEST(a node refuses a plugin whose factory fails naming the file and why) {
  temp_dir tmp;
  std::string out;
  CAF_CHECK_EQUAL(
      run_node(tmp, plugin_dir("factory_fails"), "plugin = \"test.consumers.fails\"\n", &out), 2);
  CAF_CHECK(contains(out, plugin_file("factory_fails")));
  CAF_CHECK(contains(out, "cannot open model file /nonexistent/model.bin"));
}
