#pragma once

#include "runtime/broker/connection.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "runtime/core/expected.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace sy::pipeline {

/// Keepers (docs/PIPELINE.md "Keepers"): one message that nobody consumes
/// in each stream whose messages all go away at idle, `SY_UNROUTED` and
/// `SY_QUEUES` (acked work) and `KV_sy_tasks` (removed records). While a
/// stream's last block holds a message, nats-server 2.9 does not truncate,
/// close and reopen its files whenever the last message goes.
inline constexpr const char* unrouted_keeper_subject = "sy.unrouted._keeper";
inline constexpr const char* queues_keeper_subject = "sy.queue._keeper";
/// A key with no dot: no `<root>.<uid>` record, so readers of records skip it.
inline constexpr const char* tasks_keeper_key = "_keeper";
/// How often the housekeeping leader writes the keepers anew: a keeper
/// helps only in the stream's last block, and blocks roll over.
inline constexpr std::chrono::seconds keeper_interval{60};

/// Writes a new keeper into each stream, then removes the older ones.
/// Blocking (a few API requests per stream).
expected<void> refresh_keepers(broker::connection& conn, broker::kv_bucket& tasks);

/// Writes the keeper of `KV_sy_tasks` anew, at the stream's end (the old
/// one goes with it): a keeper must not hold back the removal of the
/// records behind it (docs/PIPELINE.md "Removing records"). Blocking.
expected<void> move_tasks_keeper(broker::kv_bucket& tasks);

/// The messages of `SY_UNROUTED` or `SY_QUEUES`, keepers not counted: the
/// tasks they hold. Blocking.
expected<std::uint64_t> stored_tasks(broker::connection& conn, const std::string& stream);

} // namespace sy::pipeline
