#pragma once

#include "runtime/core/expected.hpp"
#include "runtime/core/value.hpp"
#include "runtime/plugin/ranker.hpp"

#include <memory>
#include <optional>
#include <string>

namespace sy::scheduling {

using sy::rank_context;
using sy::ranker;

/// The built-in rankers (DESIGN §6):
/// - `sy.rankers.priority`: Karton's order, high > normal > low, FIFO
///   inside a class. No config.
/// - `sy.rankers.age`: the priority class plus one class per `aging` of
///   waiting (config `aging`, a duration, default "60s"), so a low task
///   overtakes fresh high ones after 2 × aging: nothing starves. Scored as
///   class − queued_at / aging, which orders as class + waited / aging at
///   every moment.
/// - `sy.rankers.grace_period` (KAT): never run → top band (3); last run
///   longer ago than `grace_period` (default "24h") → overdue band (2);
///   otherwise in [0, 1), growing with the whole seconds elapsed since the
///   last run over `horizon` (default: the grace period).
/// Unknown names and invalid configs are errors naming the ranker and key.
expected<std::unique_ptr<ranker>> make_ranker(const std::string& name, const value& config);

} // namespace sy::scheduling
