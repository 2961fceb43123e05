#define CAF_SUITE runtime.pipeline.layout
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/pipeline/layout.hpp"

#include <set>

using namespace sy;
using namespace sy::pipeline;

CAF_TEST(queue consumer names are distinct across identities and priorities) {
  // Identities may contain '.', '_' and '-'; none of these may make two
  // identities' consumers (or an old shared one) share a name.
  std::set<std::string> names;
  std::size_t made = 0;
  for (const char* identity : {"a", "a.high", "a_high", "a-high", "a~high", "a.b", "a_b"}) {
    if (!is_identity(identity)) continue;
    names.insert(shared_queue_durable(identity));
    ++made;
    for (auto p : priorities) {
      names.insert(queue_durable(identity, p));
      ++made;
    }
  }
  CAF_CHECK_EQUAL(names.size(), made);
  CAF_CHECK_EQUAL(queue_durable("classifier.v2", priority::high), "classifier~v2@high");
  CAF_CHECK_EQUAL(queue_subject("classifier.v2", priority::high), "sy.queue.classifier~v2.high");
  CAF_CHECK_EQUAL(router_durable(priority::low), "router-low");
}

CAF_TEST(a queue subject gives back its identity token) {
  auto subject = queue_subject("classifier.v2", priority::low);
  CAF_CHECK_EQUAL(queue_token_of(subject), "classifier~v2");
  CAF_CHECK_EQUAL(queue_token_of("sy.unrouted.low"), "");
  CAF_CHECK_EQUAL(queue_token_of("sy.queue.x"), "");
}
