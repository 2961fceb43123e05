#define CAF_SUITE runtime.core.cpu_latency
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/core/cpu_latency.hpp"

#include <string>

using namespace sy;

CAF_TEST(a request holds the bound while it lives and no longer) {
  auto before = cpu_latency_request::current();
  auto held = cpu_latency_request::hold(7);
  if (!held) {
    // Not root, or no such device: the error names the device and why.
    CAF_CHECK(held.error().code == errc::io);
    CAF_CHECK(held.error().message.find("/dev/cpu_dma_latency") != std::string::npos);
    return;
  }
  CAF_REQUIRE(before.has_value());
  auto during = cpu_latency_request::current();
  CAF_REQUIRE(during.has_value());
  CAF_CHECK(*during <= 7); // another process may ask for less
  {
    auto moved = std::move(*held); // the request goes with its last owner
    CAF_CHECK(*cpu_latency_request::current() <= 7);
  }
  auto after = cpu_latency_request::current();
  CAF_REQUIRE(after.has_value());
  CAF_CHECK_EQUAL(*after, *before);
}

CAF_TEST(a negative bound is refused) {
  auto held = cpu_latency_request::hold(-1);
  CAF_REQUIRE(!held);
  CAF_CHECK(held.error().code == errc::invalid_input);
}
