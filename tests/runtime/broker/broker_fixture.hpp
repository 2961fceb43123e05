#pragma once

// Shared by the broker test files: a real nats-server, a connection to it,
// and bounded polling.

#include "runtime/broker/connection.hpp"
#include "tests/support/nats_server.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

namespace sy::broker::testing {

/// Polls `pred` every few milliseconds until it holds or `timeout` passes.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

inline connection_options test_options(const std::string& url) {
  connection_options opts;
  opts.urls = {url};
  opts.name = "sy-test";
  opts.reconnect_wait = std::chrono::milliseconds(20);
  opts.max_reconnect_wait = std::chrono::milliseconds(200);
  return opts;
}

/// A server and a connection to it; the test binary exits if either fails.
struct broker_fixture {
  sy::test::nats_server server;
  std::shared_ptr<connection> conn;

  broker_fixture() {
    auto c = connection::connect(test_options(server.url()));
    if (!c) {
      std::fprintf(stderr, "broker_fixture: %s\n", c.error().message.c_str());
      std::exit(1);
    }
    conn = std::move(*c);
  }
};

} // namespace sy::broker::testing

/// Like CAF_REQUIRE, but a failure is reported and ends only the current
/// test (CAF_REQUIRE aborts the whole binary in CAF 0.17.6).
#define SY_REQUIRE(cond)                                                                           \
  if (!(cond)) {                                                                                   \
    CAF_CHECK(cond);                                                                               \
    return;                                                                                        \
  } else                                                                                           \
    static_cast<void>(0)
