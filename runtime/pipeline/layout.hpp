#pragma once

#include "runtime/broker/connection.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "runtime/core/expected.hpp"
#include "runtime/task/task.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

/// The JetStream layout of DESIGN §4: stream, bucket, subject, key and
/// consumer names, and the one function that creates them. Every other piece
/// of code builds names through here, so the layout is defined once.
namespace sy::pipeline {

inline constexpr const char* unrouted_stream = "SY_UNROUTED";
inline constexpr const char* queues_stream = "SY_QUEUES";
inline constexpr const char* events_stream = "SY_EVENTS";
inline constexpr const char* logs_stream = "SY_LOGS";
/// Messages no one could read (malformed task bytes), kept for inspection.
inline constexpr const char* parked_stream = "SY_PARKED";
inline constexpr const char* tasks_bucket = "sy_tasks";
/// The stream that holds `tasks_bucket` (NATS KV: "KV_" + its name).
inline constexpr const char* tasks_stream = "KV_sy_tasks";
inline constexpr const char* binds_bucket = "sy_binds";
inline constexpr const char* nodes_bucket = "sy_nodes";
/// When a task of each hash last finished, per identity, for rankers that
/// ask (docs/PLUGINS.md): key `<identity token>.<hash>`, value Unix seconds.
inline constexpr const char* runs_bucket = "sy_runs";
/// The object store of task resources (docs/RESOURCES.md).
inline constexpr const char* resources_bucket = "sy_resources";
/// Periodic schedules by id (docs/PLUGINS.md "Schedules").
inline constexpr const char* schedules_bucket = "sy_schedules";
/// Tasks cancelled while unrouted, queued or running, so the routers or the
/// schedulers of their identity drop them (docs/PIPELINE.md "Cancelling"):
/// key `cancelled_key`, value Unix seconds; entries live `cancelled_ttl`.
inline constexpr const char* cancelled_bucket = "sy_cancelled";
inline constexpr std::chrono::hours cancelled_ttl{24 * 7};
/// The error of a cancelled task's Crashed record.
inline constexpr const char* cancelled_reason = "cancelled by user";
/// The priorities, highest first.
inline constexpr priority priorities[] = {priority::high, priority::normal, priority::low};
/// The durable consumer of one priority's unrouted tasks, shared by every
/// router: `router-<priority>`, on `sy.unrouted.<priority>`. One per
/// priority, so a backlog of low tasks does not hold up high ones.
std::string router_durable(priority p);
/// The one durable all priorities shared in earlier versions; it overlaps
/// the ones above, so a node removes it (docs/OPERATIONS.md "Upgrading").
inline constexpr const char* shared_router_durable = "router";

/// `sy.unrouted.<priority>`.
std::string unrouted_subject(priority p);
/// The identity as one subject token and consumer name: `.` (a subject
/// separator, not allowed in consumer names) written as `~`. Keeps the
/// queues of "a" and "a.b" from overlapping.
std::string identity_token(std::string_view identity);
/// A task's receiver as one token: its identity token, `_routing` for a
/// task not routed yet (no identity starts with `_`).
std::string receiver_token(std::string_view receiver);
/// `<receiver token>.<uid>`: a cancelled task's key in `sy_cancelled`.
std::string cancelled_key(std::string_view receiver, std::string_view uid);
/// Follows the keys of `receiver`'s tasks (`""`: tasks not routed yet) in
/// `sy_cancelled`, those already there first: `on_cancel` gets each uid and
/// when its entry expires (Unix seconds), on the watcher's thread.
expected<broker::kv_watcher>
follow_cancels(const broker::kv_bucket& cancelled, std::string_view receiver,
               std::function<void(std::string uid, double expires)> on_cancel,
               broker::kv_watch_options opts = {});
/// `sy.queue.<identity token>.<priority>`.
std::string queue_subject(std::string_view identity, priority p);
/// `sy.queue.<identity token>.>`: every priority of one identity's queue.
std::string queue_filter(std::string_view identity);
/// `sy.queue.>`: every queue.
inline constexpr const char* all_queues_filter = "sy.queue.>";
/// The identity token of a queue subject (`classifier~v2` for
/// `sy.queue.classifier~v2.high`); empty for any other subject.
std::string_view queue_token_of(std::string_view subject);
/// The durable consumer of one priority of an identity's queue,
/// `<identity token>@<priority>`, on `sy.queue.<identity token>.<priority>`:
/// the identity's scheduler pulls the three at once, so a high task is
/// delivered while lows wait in the stream. (`@` occurs in no identity
/// token, so these names are distinct from each other and from every name
/// of the shared durables below.)
std::string queue_durable(std::string_view identity, priority p);
/// The one durable per identity, on every priority, of earlier versions:
/// the identity token. Its filter overlaps the ones above; a node serving
/// the identity removes it (docs/OPERATIONS.md "Upgrading").
inline std::string shared_queue_durable(std::string_view identity) {
  return identity_token(identity);
}
/// `<root_uid>.<uid>`: a task's key in `sy_tasks`.
std::string task_key(std::string_view root_uid, std::string_view uid);
inline std::string task_key(const task& t) {
  return task_key(t.root_uid, t.uid);
}
/// `sy.events.analysis.<root_uid>`.
std::string analysis_event_subject(std::string_view root_uid);
/// `node.<name>`: a node's heartbeat key in `sy_nodes`.
std::string node_key(std::string_view node);
/// `sy.parked.<what>`.
std::string parked_subject(std::string_view what);

/// True if `identity` is a valid consumer identity, `[a-z0-9][a-z0-9._-]*`.
bool is_identity(std::string_view identity);
/// True if `uid` can be a key token: non-empty, `[A-Za-z0-9_-]` only.
bool is_key_token(std::string_view uid);

/// Shapes of the streams and buckets a node creates.
struct layout_options {
  /// Replicas of every stream and bucket (1, 3 or 5).
  int replicas = 1;
  /// Keep streams in memory instead of files (tests, benchmarks).
  bool memory_storage = false;
  /// JetStream's duplicate window for task publishes.
  std::chrono::milliseconds dedup_window = std::chrono::minutes{2};
  /// How long SY_LOGS and SY_EVENTS keep messages.
  std::chrono::milliseconds logs_max_age = std::chrono::hours{24 * 7};
  /// How long a node's heartbeat in `sy_nodes` lives without a refresh.
  std::chrono::milliseconds nodes_ttl = std::chrono::seconds{15};
};

/// Creates every stream and bucket of DESIGN §4, or checks that existing
/// ones are compatible (an incompatible one is an `errc::conflict` naming the
/// stream and the field). Idempotent, safe from several nodes at once.
/// Blocking.
expected<void> ensure_layout(broker::connection& conn, const layout_options& opts);

/// Deletes the durable consumers of `identity`'s queue (one per priority,
/// and the shared one of earlier versions) and returns how many there were.
/// Blocking.
expected<int> delete_queue_consumers(broker::connection& conn, std::string_view identity);

/// Whether `sy_tasks` and the queues live on one standalone server (their
/// stream info names no cluster). Such a server stores what one client
/// connection publishes in the order it was sent, whatever the streams, so
/// a router may write a sole fork's record and queue message together
/// (docs/PIPELINE.md "A root forked for one identity"). Blocking.
expected<bool> on_standalone_server(broker::connection& conn);

} // namespace sy::pipeline
