#define CAF_SUITE runtime.pipeline.metrics
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/pipeline/metrics.hpp"

using namespace sy;
using sy::pipeline::duration_histogram;

CAF_TEST(durations land in the bucket of their upper bound) {
  duration_histogram h;
  h.observe(0.00005); // 0.05 ms
  h.observe(0.001);   // exactly 1 ms: the 1 ms bucket
  h.observe(0.0011);  // above it
  h.observe(400);     // beyond the last bound
  auto j = h.to_json();
  CAF_CHECK_EQUAL(j.value("count", 0), 4);
  CAF_CHECK_EQUAL(j["buckets"].value("0.1", 0), 1);
  CAF_CHECK_EQUAL(j["buckets"].value("1", 0), 1);
  CAF_CHECK_EQUAL(j["buckets"].value("2.5", 0), 1);
  CAF_CHECK_EQUAL(j["buckets"].value("+Inf", 0), 1);
  CAF_CHECK(std::abs(j.value("sum_ms", 0.0) - 400002.15) < 0.01);
}

CAF_TEST(quantiles read the bucket bounds) {
  duration_histogram h;
  CAF_CHECK(!duration_histogram::quantile_ms(h.to_json(), 0.5));
  for (int i = 0; i < 9; ++i)
    h.observe(0.003); // 5 ms bucket
  h.observe(0.2);     // 250 ms bucket
  auto j = h.to_json();
  CAF_CHECK_EQUAL(duration_histogram::quantile_ms(j, 0.5).value_or(-1), 5.0);
  CAF_CHECK_EQUAL(duration_histogram::quantile_ms(j, 0.9).value_or(-1), 5.0);
  CAF_CHECK_EQUAL(duration_histogram::quantile_ms(j, 0.99).value_or(-1), 250.0);
  h.observe(1000);
  CAF_CHECK(!duration_histogram::quantile_ms(h.to_json(), 1.0)); // unbounded
}
