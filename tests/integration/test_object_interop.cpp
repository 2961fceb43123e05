// The object store against a client of another language: the NATS
// JavaScript client (npm package nats, installed into a temporary directory
// by the test) reads what switchyard wrote and writes what switchyard reads.
#define CAF_SUITE integration.object_interop
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/broker/object_store.hpp"
#include "tests/runtime/broker/broker_fixture.hpp"

#include <cstdio>
#include <filesystem>
#include <random>

using namespace sy;
using namespace sy::broker;
using namespace sy::broker::testing;

namespace {

/// Runs `command`, returns its exit status and stdout+stderr.
int shell(const std::string& command, std::string& out) {
  out.clear();
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  char buf[4096];
  while (auto n = fread(buf, 1, sizeof buf, pipe))
    out.append(buf, n);
  int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string unpadded(std::string digest) {
  if (digest.rfind("SHA-256=", 0) == 0) digest.erase(0, 8);
  while (!digest.empty() && digest.back() == '=')
    digest.pop_back();
  return digest;
}

struct interop_fixture : broker_fixture {
  std::string dir;
  std::string script = SY_SOURCE_DIR "/tests/integration/interop/object_store.js";

  interop_fixture() {
    char tmpl[] = "/tmp/sy-interop-XXXXXX";
    dir = mkdtemp(tmpl);
    std::string out;
    if (shell("cd " + dir + " && npm install --no-audit --no-fund --silent nats@2.29.3", out) != 0)
      CAF_FAIL("npm install nats@2.29.3 failed (the test needs the npm registry):\n" << out);
  }

  ~interop_fixture() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  /// Runs the JavaScript client; its JSON answer.
  value js(const std::string& args) {
    std::string out;
    auto rc = shell("cd " + dir + " && NODE_PATH=" + dir + "/node_modules node " + script + " " +
                        server.url() + " interop " + args,
                    out);
    if (rc != 0) CAF_FAIL("node " << args << ":\n" << out);
    return value::parse(out, nullptr, false);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(interop_tests, interop_fixture)

CAF_TEST(the javascript client reads what switchyard wrote and the reverse) {
  object_store_options opts;
  opts.bucket = "interop";
  auto store = object_store::ensure(conn, opts);
  SY_REQUIRE(store.has_value());
  // Ours, read by theirs: several chunks and a bit.
  std::string data(3 * 128 * 1024 + 5, '\0');
  std::mt19937_64 rng{3};
  for (auto& c : data)
    c = static_cast<char>(rng() & 0xff);
  auto put = store->put_bytes("from-switchyard", data);
  SY_REQUIRE(put.has_value());
  auto theirs = js("read from-switchyard");
  CAF_CHECK_EQUAL(theirs.value("size", 0u), data.size());
  CAF_CHECK_EQUAL(theirs.value("sha256", ""), unpadded(put->digest));
  // Theirs, read by ours (their digest has no padding; their chunk size).
  auto written = js("write from-js 300000");
  auto info = store->info("from-js");
  SY_REQUIRE(info.has_value());
  CAF_CHECK_EQUAL(unpadded(info->digest), written.value("sha256", "?"));
  auto back = store->get_bytes("from-js");
  SY_REQUIRE(back.has_value());
  CAF_CHECK_EQUAL(back->size(), 300000u);
  bool same = back->size() == 300000;
  for (std::size_t i = 0; same && i < back->size(); ++i)
    same = static_cast<unsigned char>((*back)[i]) == (i * 31) % 251;
  CAF_CHECK(same);
  // Both list each other's objects.
  auto all = store->list();
  SY_REQUIRE(all.has_value());
  CAF_CHECK_EQUAL(all->size(), 2u);
}

CAF_TEST_FIXTURE_SCOPE_END()
