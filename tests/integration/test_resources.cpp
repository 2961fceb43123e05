// Resources end to end: files attached by producers, read and forwarded by
// consumers in a node, collected by the housekeeper, and the CLI.
#define CAF_SUITE integration.resources
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/broker/object_store.hpp"
#include "runtime/task/resource_ref.hpp"
#include "tests/integration/pipeline_fixture.hpp"

#include <fstream>
#include <random>
#include <thread>

using namespace sy;
using namespace sy::test;
using namespace std::chrono_literals;

namespace {

using names = std::multiset<std::string>;

std::string random_bytes(std::size_t n) {
  std::mt19937_64 rng{7};
  std::string out(n, '\0');
  for (auto& c : out)
    c = static_cast<char>(rng() & 0xff);
  return out;
}

struct resource_fixture : pipeline_fixture {
  std::optional<broker::object_store> store;

  resource_fixture() {
    auto s = broker::object_store::open(conn, pipeline::resources_bucket);
    if (!s) CAF_FAIL(s.error().message);
    store.emplace(std::move(*s));
  }

  std::size_t stored() {
    auto all = store->list();
    return all ? all->size() : 0;
  }

  std::string send_with(value headers, const std::string& bytes) {
    pipeline::attachment a{"sample", "sample.bin", "", bytes};
    auto uid = producer->send(make_task(std::move(headers)), {a});
    if (!uid) CAF_FAIL("send: " << uid.error().message);
    return *uid;
  }

  static std::string reader(const std::string& identity, const std::string& filters,
                            const std::string& extra = "") {
    return "[[consumer]]\nidentity = \"" + identity +
           "\"\nplugin = \"sy.consumers.synthetic\"\nfilters = " + filters +
           "\nconfig = { read_resources = true, forward_payload = true" + extra + " }\n";
  }
};

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++n;
  return n;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(resource_tests, resource_fixture)

CAF_TEST(a resource forwarded through a chain of three consumers is stored once) {
  node_process node{
      "[router]\ninstances = 1\n" +
          reader("unpack", R"([{type = "sample"}])", R"(, emit = [ { type = "stage2" } ])") +
          reader("analyze", R"([{type = "stage2"}])", R"(, emit = [ { type = "stage3" } ])") +
          reader("report", R"([{type = "stage3"}])"),
      server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  auto data = random_bytes(300 * 1024 + 17); // three chunks and a bit
  auto root = send_with({{"type", "sample"}}, data);
  if (!wait_event(root)) CAF_FAIL("no event:\n" << node.log_text());
  CAF_CHECK_EQUAL(receivers(root, "Finished"), (names{"unpack", "analyze", "report"}));
  CAF_CHECK_EQUAL(count(node.log_text(), "read resource sample.bin (307217 bytes"), 3u);
  CAF_CHECK_EQUAL(stored(), 1u);
  auto all = store->list();
  CAF_REQUIRE(all.has_value() && all->size() == 1);
  auto back = store->get_bytes(all->front().name);
  CAF_CHECK(back.has_value());
  if (!back) CAF_MESSAGE(back.error().message);
  CAF_CHECK(back && *back == data);
  CAF_CHECK_EQUAL(all->front().metadata["name"], "sample.bin");
}

CAF_TEST(a reference to other content than stored crashes the task with the reason) {
  node_process node{"[router]\ninstances = 1\n" + reader("unpack", R"([{type = "sample"}])"),
                    server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  auto put = store->put_bytes("object-1", "the real content");
  CAF_REQUIRE(put.has_value());
  resource_ref ref;
  ref.name = "sample.bin";
  ref.object = "object-1";
  ref.size = 16;
  ref.sha256 = "SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU="; // of nothing
  auto t = make_task({{"type", "sample"}}, {{"sample", to_value(ref)}});
  auto uid = producer->send(t);
  CAF_REQUIRE(uid.has_value());
  if (!wait_event(*uid)) CAF_FAIL("no event:\n" << node.log_text());
  CAF_CHECK_EQUAL(receivers(*uid, "Crashed"), names{"unpack"});
  CAF_CHECK(node.wait_for_log("holds other content than the task names"));
}

CAF_TEST(the housekeeper deletes resources once no task refers to them) {
  node_process node{"[router]\ninstances = 1\n[housekeeper]\ninterval = \"200ms\"\n"
                    "resource_retention = \"1ms\"\nresource_gc_interval = \"200ms\"\n" +
                        reader("slow", R"([{type = "sample"}])", ", service_time_ms = 1500") +
                        reader("broken", R"([{type = "broken"}])", ", crash_probability = 1.0"),
                    server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  // Not referenced by anything: collected.
  CAF_REQUIRE(store->put_bytes("stray", "nobody's").has_value());
  // Referenced by a task that runs for 1.5 s, i.e. over several collections.
  auto running = send_with({{"type", "sample"}}, random_bytes(5000));
  // Referenced by a crashed task's record, kept for crashed_ttl.
  auto crashed = send_with({{"type", "broken"}}, random_bytes(100));
  if (!wait_event(running) || !wait_event(crashed)) CAF_FAIL("no event:\n" << node.log_text());
  CAF_CHECK_EQUAL(receivers(running, "Finished"), names{"slow"}); // it could read its resource
  CAF_CHECK(node.wait_for_log("resource stray deleted"));
  // The finished analysis' records go, then its resource; the crashed one stays.
  bool settled = false;
  for (int i = 0; i < 100 && !settled; ++i) {
    settled = stored() == 1;
    if (!settled) std::this_thread::sleep_for(100ms);
  }
  CAF_CHECK(settled);
  auto left = store->list();
  CAF_REQUIRE(left.has_value() && left->size() == 1);
  CAF_CHECK_EQUAL(left->front().metadata["root_uid"], crashed);
}

CAF_TEST(the cli attaches lists and downloads resources) {
  node_process node{"[router]\ninstances = 1\n" +
                        reader("broken", R"([{type = "sample"}])", ", crash_probability = 1.0"),
                    server.url()};
  CAF_CHECK(node.wait_for_log("running"));
  char tmpl[] = "/tmp/sy-resource-test-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  auto data = random_bytes(200 * 1024);
  std::ofstream{dir + "/sample.exe", std::ios::binary} << data;
  auto cli = [&](const std::string& args, std::string* out) {
    return run_cli(args + " --set broker.urls=" + server.url() + " 2>&1", out);
  };
  std::string out;
  CAF_CHECK_EQUAL(cli("send -H type=sample --file " + dir + "/sample.exe --json", &out), 0);
  auto uid = value::parse(out, nullptr, false).value("uid", "");
  CAF_REQUIRE(!uid.empty());
  if (!wait_event(uid)) CAF_FAIL("no event:\n" << node.log_text());
  CAF_CHECK_EQUAL(cli("resource ls", &out), 0);
  CAF_CHECK(out.find("sample.exe") != std::string::npos);
  CAF_CHECK(out.find(std::to_string(data.size())) != std::string::npos);
  CAF_CHECK_EQUAL(cli("resource get " + uid + " sample.exe -o " + dir + "/copy", &out), 0);
  std::ifstream in{dir + "/copy", std::ios::binary};
  std::string copy{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  CAF_CHECK(copy == data);
  CAF_CHECK_EQUAL(cli("resource get " + uid + " nope.txt -o " + dir + "/x", &out), 1);
  CAF_CHECK(out.find("it has: sample.exe") != std::string::npos);
  CAF_CHECK_EQUAL(cli("send -H type=sample --file " + dir + "/missing.bin", &out), 2);
  // A directory goes as a ZIP archive of its files.
  std::filesystem::create_directories(dir + "/report/sub");
  std::ofstream{dir + "/report/a.txt"} << "alpha\n";
  std::ofstream{dir + "/report/sub/b.bin", std::ios::binary} << data;
  CAF_CHECK_EQUAL(cli("send -H type=sample --file " + dir + "/report --json", &out), 0);
  auto zipped = value::parse(out, nullptr, false).value("uid", "");
  CAF_REQUIRE(!zipped.empty());
  if (!wait_event(zipped)) CAF_FAIL("no event:\n" << node.log_text());
  CAF_CHECK_EQUAL(cli("resource get " + zipped + " report.zip -o " + dir + "/report.zip", &out), 0);
  // Python's zipfile checks every CRC and lists the members.
  std::string listing;
  CAF_CHECK_EQUAL(run_command("python3 -c \"import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); "
                              "assert z.testzip() is None; "
                              "print(sorted((i.filename, i.file_size) for i in z.infolist()))\" " +
                                  dir + "/report.zip",
                              &listing),
                  0);
  CAF_CHECK_EQUAL(listing, "[('a.txt', 6), ('sub/b.bin', " + std::to_string(data.size()) + ")]\n");
  std::filesystem::remove_all(dir);
}

CAF_TEST_FIXTURE_SCOPE_END()
