#pragma once

#include <string_view>

namespace sy::broker {

/// True if every subject matched by `subject` (which may hold `*` and `>`
/// wildcards) is also matched by `pattern`. `subject_covers("sy.queue.>",
/// "sy.queue.*.high")` is true; the reverse is false.
bool subject_covers(std::string_view pattern, std::string_view subject);

} // namespace sy::broker
