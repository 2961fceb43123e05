#pragma once

#include <string>
#include <string_view>

namespace sy {

/// Returns a random UUID (version 4) in canonical lowercase text form.
/// Thread-safe: each thread has its own generator.
std::string new_uid();

/// Returns the uid of the fork of task `orig_uid` for consumer `identity`:
/// a name-based UUID (version 5, SHA-1) over both, so every router that
/// routes the same unrouted task, including after a redelivery, produces the
/// same forks and JetStream's dedup window drops the copies.
std::string fork_uid(std::string_view orig_uid, std::string_view identity);

/// True if `text` is a UUID in canonical 8-4-4-4-12 lowercase hex form.
bool is_uid(std::string_view text);

} // namespace sy
