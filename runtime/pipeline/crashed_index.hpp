#pragma once

#include "runtime/broker/connection.hpp"
#include "runtime/core/expected.hpp"
#include "runtime/task/task.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// The index of crashed tasks by identity (docs/PIPELINE.md "The crashed
/// index"): stream `SY_CRASHED` holds one message per crashed task, the
/// task itself, on `sy.crashed.<identity token>.<uid>`. It lets the API, the
/// dashboard and `retry --crashed` count and page through one identity's
/// crashed tasks without reading `sy_tasks` whole. The record in `sy_tasks`
/// stays the truth: an entry whose record is no longer Crashed is stale and
/// is dropped by whoever reads it. Every function is blocking unless it says
/// otherwise; thread-safe as the connection is.
namespace sy::pipeline {

inline constexpr const char* crashed_stream = "SY_CRASHED";

/// `sy.crashed.<identity token>.<uid>`; an unrouted task (no receiver) uses
/// the token `_routing`, which no identity can be.
std::string crashed_subject(std::string_view receiver, std::string_view uid);

/// `sy.crashed.*.<uid>`: the entry of task `uid`, whatever its identity.
std::string crashed_uid_filter(std::string_view uid);

/// Adds `t` (status Crashed) to the index; `done` gets the outcome on a
/// connection thread. Asynchronous.
void index_crashed_async(broker::connection& conn, const task& t,
                         std::function<void(expected<void>)> done);

/// Adds `t` to the index and waits for the stream's confirmation.
expected<void> index_crashed(broker::connection& conn, const task& t);

/// Removes the entry of task `uid`, whatever its identity; none is fine.
expected<void> unindex_crashed(broker::connection& conn, std::string_view uid);

/// How many crashed tasks `identity` has in the index (stale entries
/// included until someone reads them).
expected<std::uint64_t> count_crashed(broker::connection& conn, std::string_view identity);

/// One entry of the index.
struct crashed_entry {
  std::uint64_t seq = 0;
  task t;
};

/// Up to `limit` entries of `identity` from sequence `after` + 1 on, oldest
/// first, and the sequence to pass as `after` for the next page (none on
/// the last page). Undecodable entries are skipped.
struct crashed_page {
  std::vector<crashed_entry> entries;
  std::optional<std::uint64_t> next;
};
expected<crashed_page> read_crashed(broker::connection& conn, std::string_view identity,
                                    std::uint64_t after, std::size_t limit);

} // namespace sy::pipeline
