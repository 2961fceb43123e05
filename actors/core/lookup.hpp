#pragma once

#include "actors/core/atoms.hpp"
#include "runtime/broker/connection.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "runtime/core/expected.hpp"
#include "runtime/task/task.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>
#include <memory>
#include <optional>
#include <string>

namespace sy::actors {

/// The answer of a KV lookup: the value, `std::nullopt` for a missing key,
/// or an error text when the broker could not answer.
struct lookup_result {
  std::optional<std::string> value;
  std::string error;
};

/// The task record a lookup found, decoded; `errc::not_found` when it found
/// none (or could not answer: check `error` first where that matters).
expected<task> found_task(const lookup_result& r);

using get_atom = caf::atom_constant<caf::atom("get")>;
using announced_atom = caf::atom_constant<caf::atom("announced")>;

/// Runs blocking reads on its own thread (spawn it detached), so that
/// actors on CAF's worker threads never block. Used on rare paths only
/// (redeliveries), one request at a time:
/// - `get`: a KV record by key;
/// - `announced`: a root's last analysis event (`value` set when its
///   analysis was announced at least once).
using lookup_actor =
    caf::typed_actor<caf::replies_to<get_atom, std::string>::with<lookup_result>,
                     caf::replies_to<announced_atom, std::string>::with<lookup_result>>;

/// Spawns a lookup actor on its own thread.
lookup_actor spawn_lookup(caf::actor_system& sys, std::shared_ptr<broker::connection> conn,
                          std::shared_ptr<broker::kv_bucket> bucket);

} // namespace sy::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sy::actors::lookup_result)
