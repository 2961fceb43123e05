#include "runtime/cli/bench_resource.hpp"

#include "runtime/broker/ack_window.hpp"
#include "runtime/broker/connection.hpp"
#include "runtime/broker/embedded_server.hpp"
#include "runtime/broker/object_store.hpp"
#include "runtime/cli/command.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <random>

namespace sy::cli {

namespace {

using clock_type = std::chrono::steady_clock;

constexpr std::size_t chunk = 128 * 1024;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// Publishes `total` bytes in `chunk`-sized messages to a plain stream,
/// 64 unconfirmed at most (the object store's window); returns the seconds.
expected<double> raw_publish(broker::connection& conn, std::uint64_t total) {
  broker::stream_spec spec;
  spec.name = "BENCH_RAW";
  spec.subjects = {"bench.raw"};
  if (auto r = broker::ensure_stream(conn, spec); !r) return r.error();
  std::string data(chunk, 'r');
  auto start = clock_type::now();
  {
    broker::ack_window window{64};
    for (std::uint64_t sent = 0; sent < total; sent += chunk) {
      if (auto f = window.failure()) return *f;
      conn.js_publish_async({"bench.raw", data, {}, {}, {}}, window.start());
    }
    if (auto r = window.finish(std::chrono::minutes{10}); !r) return r.error();
  }
  return seconds_since(start);
}

} // namespace

int run_resource_bench(long megabytes, bool json) {
  if (megabytes <= 0) megabytes = 1024;
  std::uint64_t total = static_cast<std::uint64_t>(megabytes) << 20;
  auto fail = [](const std::string& what) {
    std::cerr << "switchyard: bench: " << what << '\n';
    return exit_negative;
  };
  auto dir = (std::filesystem::temp_directory_path() / "sy-bench-XXXXXX").string();
  if (!mkdtemp(dir.data())) return fail("cannot create a temp directory under /tmp");
  struct cleanup {
    std::string dir;
    ~cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } remove_dir{dir};
  broker::embedded_server_options sopts;
  sopts.data_dir = dir + "/nats";
  sopts.port = 0;
  // As a node's embedded server: it shares the machine with this client.
  sopts.threads = broker::shared_machine_server_threads();
  auto server = broker::embedded_server::start(sopts);
  if (!server) return fail("nats-server: " + server.error().message);
  broker::connection_options copts;
  copts.urls = {server->url()};
  copts.name = "switchyard bench resource";
  auto conn = broker::connection::connect(copts);
  if (!conn) return fail(conn.error().message);

  auto raw = raw_publish(**conn, total);
  if (!raw) return fail("raw publish: " + raw.error().message);

  broker::object_store_options oopts;
  oopts.bucket = "bench";
  auto store = broker::object_store::ensure(*conn, oopts);
  if (!store) return fail(store.error().message);
  std::mt19937_64 rng{1};
  std::string block(chunk, '\0');
  for (auto& c : block)
    c = static_cast<char>(rng() & 0xff);
  std::uint64_t produced = 0;
  auto start = clock_type::now();
  auto put = store->put("one-gigabyte.bin", [&](char* buf, std::size_t n) -> expected<std::size_t> {
    auto k = static_cast<std::size_t>(std::min<std::uint64_t>(n, total - produced));
    for (std::size_t i = 0; i < k; i += block.size())
      std::copy_n(block.data(), std::min(block.size(), k - i), buf + i);
    produced += k;
    return k;
  });
  auto up = seconds_since(start);
  if (!put) return fail("upload: " + put.error().message);
  std::uint64_t received = 0;
  start = clock_type::now();
  auto got = store->get("one-gigabyte.bin", [&](std::string_view c) -> expected<void> {
    received += c.size();
    return {};
  });
  auto down = seconds_since(start);
  if (!got) return fail("download: " + got.error().message);

  double mb = static_cast<double>(total) / (1 << 20);
  if (json) {
    std::cout << value{{"scenario", "resource"},        {"megabytes", mb},
                       {"raw_publish_mb_s", mb / *raw}, {"upload_mb_s", mb / up},
                       {"download_mb_s", mb / down},    {"chunks", put->chunks}}
                     .dump()
              << '\n';
  } else {
    std::cout << std::fixed << std::setprecision(1) << "resource    " << mb << " MiB in "
              << put->chunks << " chunks of 128 KiB (file storage)\n"
              << "raw publish " << mb / *raw << " MiB/s (same bytes, plain stream)\n"
              << "upload      " << mb / up << " MiB/s (object store, SHA-256)\n"
              << "download    " << mb / down << " MiB/s (verified)\n";
  }
  return exit_ok;
}

} // namespace sy::cli
