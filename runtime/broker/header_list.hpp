#pragma once

#include <string>
#include <utility>
#include <vector>

namespace sy::broker {

/// NATS message headers in wire order. A name may repeat; names compare
/// case-sensitively, as NATS does.
using header_list = std::vector<std::pair<std::string, std::string>>;

} // namespace sy::broker
