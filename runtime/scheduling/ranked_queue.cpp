#include "runtime/scheduling/ranked_queue.hpp"

namespace sy::scheduling {

const char* to_string(push_result r) {
  switch (r) {
  case push_result::added:
    return "added";
  case push_result::updated:
    return "updated";
  case push_result::duplicate:
    return "duplicate";
  case push_result::full:
    return "full";
  }
  return "?";
}

} // namespace sy::scheduling
