#include "runtime/pipeline/layout.hpp"

#include "runtime/broker/consumer_spec.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "runtime/broker/object_store.hpp"
#include "runtime/broker/stream_spec.hpp"
#include "runtime/pipeline/crashed_index.hpp"
#include "runtime/pipeline/keepers.hpp"

namespace sy::pipeline {

std::string unrouted_subject(priority p) {
  return "sy.unrouted." + std::string{to_string(p)};
}

std::string queue_durable(std::string_view identity, priority p) {
  return identity_token(identity) + "@" + std::string{to_string(p)};
}

std::string router_durable(priority p) {
  return "router-" + std::string{to_string(p)};
}

std::string identity_token(std::string_view identity) {
  std::string out{identity};
  for (auto& c : out)
    if (c == '.') c = '~';
  return out;
}

std::string receiver_token(std::string_view receiver) {
  return receiver.empty() ? std::string{"_routing"} : identity_token(receiver);
}

std::string cancelled_key(std::string_view receiver, std::string_view uid) {
  return receiver_token(receiver) + "." + std::string{uid};
}

expected<broker::kv_watcher>
follow_cancels(const broker::kv_bucket& cancelled, std::string_view receiver,
               std::function<void(std::string uid, double expires)> on_cancel,
               broker::kv_watch_options opts) {
  auto prefix = receiver_token(receiver) + ".";
  auto on_entry = [prefix, on_cancel = std::move(on_cancel)](const broker::kv_entry& e) {
    if (e.operation != broker::kv_operation::put) return;
    auto expires = e.created + cancelled_ttl;
    on_cancel(e.key.substr(prefix.size()),
              std::chrono::duration<double>(expires.time_since_epoch()).count());
  };
  return cancelled.watch(prefix + ">", std::move(on_entry), std::move(opts));
}

std::string queue_subject(std::string_view identity, priority p) {
  return "sy.queue." + identity_token(identity) + "." + std::string{to_string(p)};
}

std::string queue_filter(std::string_view identity) {
  return "sy.queue." + identity_token(identity) + ".>";
}

std::string_view queue_token_of(std::string_view subject) {
  constexpr std::string_view prefix = "sy.queue.";
  if (subject.substr(0, prefix.size()) != prefix) return {};
  auto rest = subject.substr(prefix.size());
  auto dot = rest.find('.');
  return dot == std::string_view::npos ? std::string_view{} : rest.substr(0, dot);
}

std::string task_key(std::string_view root_uid, std::string_view uid) {
  std::string out;
  out.reserve(root_uid.size() + uid.size() + 1);
  out.append(root_uid).append(1, '.').append(uid);
  return out;
}

std::string analysis_event_subject(std::string_view root_uid) {
  return "sy.events.analysis." + std::string{root_uid};
}

std::string node_key(std::string_view node) {
  return "node." + std::string{node};
}

std::string parked_subject(std::string_view what) {
  return "sy.parked." + std::string{what};
}

bool is_identity(std::string_view identity) {
  if (identity.empty()) return false;
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(identity[0])) return false;
  for (char c : identity)
    if (!lower_or_digit(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

bool is_key_token(std::string_view uid) {
  if (uid.empty()) return false;
  for (char c : uid)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_'))
      return false;
  return true;
}

namespace {

broker::storage_type storage(const layout_options& opts) {
  return opts.memory_storage ? broker::storage_type::memory : broker::storage_type::file;
}

/// A task stream: each message is removed once a consumer acked it.
broker::stream_spec work_queue(std::string name, std::vector<std::string> subjects,
                               const layout_options& opts) {
  broker::stream_spec spec;
  spec.name = std::move(name);
  spec.subjects = std::move(subjects);
  spec.retention = broker::retention_policy::workqueue;
  spec.storage = storage(opts);
  spec.replicas = opts.replicas;
  spec.duplicate_window = opts.dedup_window;
  return spec;
}

/// A record stream (events, logs, parked messages): kept for a while.
broker::stream_spec history(std::string name, std::vector<std::string> subjects,
                            const layout_options& opts) {
  auto spec = work_queue(std::move(name), std::move(subjects), opts);
  spec.retention = broker::retention_policy::limits;
  spec.max_age = opts.logs_max_age;
  return spec;
}

broker::kv_spec bucket(std::string name, const layout_options& opts) {
  broker::kv_spec spec;
  spec.name = std::move(name);
  spec.replicas = opts.replicas;
  spec.storage = storage(opts);
  return spec;
}

} // namespace

expected<void> ensure_layout(broker::connection& conn, const layout_options& opts) {
  // The API pages through a queue's waiting tasks with direct gets.
  // Exactly the subjects the routers' per-priority consumers read, and the
  // keeper's: a task published with any other priority is refused, not
  // stored where nobody would ever take it. (SY_QUEUES, written by routers
  // only, keeps one subject: a removed identity's queue is drained through
  // one filter.)
  std::vector<std::string> unrouted_subjects;
  for (auto p : priorities)
    unrouted_subjects.push_back(unrouted_subject(p));
  unrouted_subjects.push_back(unrouted_keeper_subject);
  auto unrouted = work_queue(unrouted_stream, std::move(unrouted_subjects), opts);
  unrouted.exact_subjects = true;
  unrouted.allow_direct = true; // old keepers are found by direct gets
  auto queues = work_queue(queues_stream, {all_queues_filter}, opts);
  queues.allow_direct = true;
  // The crashed index: one message per crashed task, kept until removed.
  auto crashed = history(crashed_stream, {"sy.crashed.>"}, opts);
  crashed.max_age = {};
  crashed.max_msgs_per_subject = 1;
  crashed.allow_direct = true;
  for (const auto& spec : {unrouted, queues, history(events_stream, {"sy.events.>"}, opts),
                           history(logs_stream, {"sy.logs.>"}, opts),
                           history(parked_stream, {"sy.parked.>"}, opts), crashed}) {
    if (auto r = broker::ensure_stream(conn, spec); !r) return r.error();
  }
  auto shared = conn.shared_from_this();
  auto nodes = bucket(nodes_bucket, opts);
  nodes.ttl = opts.nodes_ttl;
  auto tasks = bucket(tasks_bucket, opts);
  // The housekeeper removes the records of finished analyses by sequence,
  // leaving no delete markers behind.
  tasks.allow_message_delete = true;
  auto cancelled = bucket(cancelled_bucket, opts);
  cancelled.ttl = cancelled_ttl;
  for (const auto& spec : {tasks, bucket(binds_bucket, opts), nodes, bucket(schedules_bucket, opts),
                           bucket(runs_bucket, opts), cancelled}) {
    if (auto r = broker::ensure_bucket(shared, spec); !r) return r.error();
  }
  broker::object_store_options resources;
  resources.bucket = resources_bucket;
  resources.description = "switchyard task resources";
  resources.replicas = opts.replicas;
  resources.storage = storage(opts);
  if (auto r = broker::object_store::ensure(shared, resources); !r) return r.error();
  return {};
}

expected<int> delete_queue_consumers(broker::connection& conn, std::string_view identity) {
  std::vector<std::string> names{shared_queue_durable(identity)};
  for (auto p : priorities)
    names.push_back(queue_durable(identity, p));
  int deleted = 0;
  for (const auto& name : names) {
    auto r = broker::delete_consumer(conn, queues_stream, name);
    if (r)
      ++deleted;
    else if (r.error().code != errc::not_found)
      return r.error();
  }
  return deleted;
}

expected<bool> on_standalone_server(broker::connection& conn) {
  for (const auto* stream : {tasks_stream, queues_stream}) {
    auto info = broker::stream_info(conn, stream);
    if (!info) return info.error();
    if (info->clustered) return false;
  }
  return true;
}

} // namespace sy::pipeline
