#include "runtime/pipeline/keepers.hpp"

#include "runtime/broker/stream_spec.hpp"
#include "runtime/pipeline/layout.hpp"

#include <algorithm>

namespace sy::pipeline {

namespace {

constexpr const char* keeper_text =
    "switchyard keeper: keeps this stream's last block from emptying";

/// The keeper of SY_UNROUTED or of SY_QUEUES.
const char* keeper_subject(const std::string& stream) {
  return stream == unrouted_stream ? unrouted_keeper_subject : queues_keeper_subject;
}

/// A new keeper in `stream`, then every older one removed, oldest first.
expected<void> refresh(broker::connection& conn, const std::string& stream) {
  const std::string subject = keeper_subject(stream);
  auto ack = conn.js_publish({subject, keeper_text, {}, {}, {}}, conn.options().api_timeout);
  if (!ack) return make_error(ack.error().code, "keeper of " + stream + ": " + ack.error().message);
  for (std::uint64_t from = 1;;) {
    auto older = broker::next_stored_message(conn, stream, subject, from);
    if (!older)
      return make_error(older.error().code, "keeper of " + stream + ": " + older.error().message);
    if (!*older || (*older)->seq >= ack->seq) return {};
    auto removed = broker::delete_stream_message(conn, stream, (*older)->seq);
    if (!removed && removed.error().code != errc::not_found)
      return make_error(removed.error().code,
                        "old keeper of " + stream + ": " + removed.error().message);
    from = (*older)->seq + 1;
  }
}

} // namespace

expected<void> refresh_keepers(broker::connection& conn, broker::kv_bucket& tasks) {
  for (const auto* stream : {unrouted_stream, queues_stream})
    if (auto r = refresh(conn, stream); !r) return r;
  return move_tasks_keeper(tasks);
}

expected<void> move_tasks_keeper(broker::kv_bucket& tasks) {
  // The bucket keeps one revision per key: the new keeper replaces the old.
  if (auto r = tasks.put(tasks_keeper_key, keeper_text); !r)
    return make_error(r.error().code, "keeper of " + tasks.name() + ": " + r.error().message);
  return {};
}

expected<std::uint64_t> stored_tasks(broker::connection& conn, const std::string& stream) {
  // One reply: the keepers counted in the same state as the messages.
  auto info = broker::stream_info(conn, stream, keeper_subject(stream));
  if (!info) return info.error();
  std::uint64_t kept = 0;
  for (const auto& [subject, n] : info->subjects)
    kept += n;
  return info->messages - std::min(kept, info->messages);
}

} // namespace sy::pipeline
