#pragma once

#include "runtime/broker/connection.hpp"
#include "runtime/broker/message.hpp"
#include "runtime/broker/pull_consumer.hpp"
#include "runtime/core/expected.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sy::pipeline {

/// Follows every analysis event (`sy.events.analysis.>` in SY_EVENTS) from
/// the start of the stream through the durable consumer `durable` (created
/// if missing). `on_event` gets each event, already acked, on a broker
/// thread; its credit returns when `on_event` returns. For tools that watch a run
/// (bench, simulate); stop the returned puller before `on_event`'s captures
/// go.
expected<std::unique_ptr<broker::pull_consumer>>
follow_analysis_events(const std::shared_ptr<broker::connection>& conn, const std::string& durable,
                       std::function<void(const broker::message&)> on_event);

/// The last analysis event of `root_uid` in SY_EVENTS, if there is one: its
/// analysis completed at least once (so its root was routed). Asks the
/// stream's leader. Blocking.
expected<std::optional<std::string>> last_analysis_event(broker::connection& conn,
                                                         std::string_view root_uid);

} // namespace sy::pipeline
