// A three-server JetStream cluster: streams and buckets with three replicas,
// a node connected to all servers, and one server killed mid-run.
#define CAF_SUITE integration.cluster
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/broker/embedded_server.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "runtime/broker/stream_spec.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/pipeline/producer.hpp"
#include "runtime/task/codec.hpp"
#include "tests/support/node_process.hpp"

#include <csignal>
#include <filesystem>
#include <set>
#include <thread>
#include <unistd.h>

using namespace sy;
using namespace sy::test;
using namespace std::chrono_literals;

namespace {

struct cluster_fixture {
  std::string dir;
  std::vector<std::optional<broker::embedded_server>> servers;
  std::vector<std::string> urls;
  std::shared_ptr<broker::connection> conn;

  cluster_fixture() {
    char tmpl[] = "/tmp/sy-cluster-XXXXXX";
    dir = mkdtemp(tmpl);
    std::vector<std::uint16_t> routes{broker::free_loopback_port(), broker::free_loopback_port(),
                                      broker::free_loopback_port()};
    std::string all_routes;
    for (auto p : routes)
      all_routes += (all_routes.empty() ? "" : ",") + ("nats://127.0.0.1:" + std::to_string(p));
    for (int i = 0; i < 3; ++i) {
      broker::embedded_server_options opts;
      opts.data_dir = dir + "/n" + std::to_string(i);
      opts.extra_args = {"--server_name",  "sy-n" + std::to_string(i),
                         "--cluster_name", "switchyard",
                         "--cluster",      "nats://127.0.0.1:" + std::to_string(routes[i]),
                         "--routes",       all_routes};
      auto s = broker::embedded_server::start(opts);
      if (!s) CAF_FAIL("nats-server " << i << ": " << s.error().message);
      urls.push_back(s->url());
      servers.emplace_back(std::move(*s));
    }
    broker::connection_options copts;
    copts.urls = urls;
    copts.name = "sy-test-cluster";
    auto c = broker::connection::connect(copts);
    if (!c) CAF_FAIL(c.error().message);
    conn = *c;
    // The layout with three replicas, once the cluster elected its leader.
    pipeline::layout_options lopts;
    lopts.replicas = 3;
    for (int attempt = 0;; ++attempt) {
      auto r = pipeline::ensure_layout(*conn, lopts);
      if (r) break;
      if (attempt == 60) CAF_FAIL("no JetStream cluster: " << r.error().message);
      std::this_thread::sleep_for(500ms);
    }
  }

  ~cluster_fixture() {
    conn.reset();
    servers.clear();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  /// Roots with an analysis event in SY_EVENTS.
  std::size_t completed(const std::vector<std::string>& roots) {
    std::size_t n = 0;
    for (const auto& r : roots) {
      auto last = broker::last_message_data(*conn, pipeline::events_stream,
                                            pipeline::analysis_event_subject(r));
      if (last && *last) ++n;
    }
    return n;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(cluster_tests, cluster_fixture)

CAF_TEST(killing one of three servers mid run loses no task) {
  auto info = broker::stream_info(*conn, pipeline::queues_stream);
  CAF_REQUIRE(info.has_value());
  // So a router queues a sole fork only once its record is stored.
  CAF_CHECK(info->clustered);
  CAF_CHECK(!*pipeline::on_standalone_server(*conn));
  node_process node{"[router]\ninstances = 1\n[[consumer]]\nidentity = \"work\"\n"
                    "plugin = \"sy.consumers.synthetic\"\nfilters = [{type = \"job\"}]\n"
                    "concurrency = 4\nconfig = { service_time_ms = 5 }\n",
                    urls, "replicas = 3\nack_wait = \"5s\""};
  CAF_CHECK(node.wait_for_log("running", 60));
  auto producer = pipeline::producer::open(conn);
  CAF_REQUIRE(producer.has_value());
  std::vector<std::string> roots;
  for (int i = 0; i < 300; ++i) {
    if (i == 100) ::kill(servers[0]->pid(), SIGKILL);
    // A send during the failover may fail; the producer retries, as a user
    // would: a failed send accepted nothing.
    for (int attempt = 0;; ++attempt) {
      auto uid = producer->send(make_task({{"type", "job"}, {"n", i}}), 10s);
      if (uid) {
        roots.push_back(*uid);
        break;
      }
      if (attempt == 240) CAF_FAIL("send " << i << " keeps failing: " << uid.error().message);
      std::this_thread::sleep_for(250ms);
    }
  }
  std::size_t done = 0;
  for (int i = 0; i < 180 && done < roots.size(); ++i) {
    done = completed(roots);
    if (done < roots.size()) std::this_thread::sleep_for(500ms);
  }
  if (done != roots.size()) {
    // What the broker holds of the missing analyses, for the diagnosis.
    std::string missing;
    auto tasks = broker::kv_bucket::open(conn, pipeline::tasks_bucket);
    for (const auto& r : roots) {
      auto last = broker::last_message_data(*conn, pipeline::events_stream,
                                            pipeline::analysis_event_subject(r));
      if (last && *last) continue;
      missing += r + ":";
      if (tasks)
        if (auto entries = tasks->entries(r + ".>"))
          for (const auto& e : *entries)
            if (auto t = decode_task(e.value))
              missing += " " + e.key + "=" + std::string{to_string(t->status)} + "/" + t->receiver;
      missing += "\n";
    }
    CAF_FAIL(roots.size() - done << " analyses missing:\n"
                                 << missing << "node log:\n"
                                 << node.log_text());
  }
  CAF_CHECK_EQUAL(done, roots.size());
}

CAF_TEST_FIXTURE_SCOPE_END()
