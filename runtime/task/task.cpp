#include "runtime/task/task.hpp"

#include "runtime/task/uid.hpp"

#include <chrono>

namespace sy {

namespace {

constexpr std::string_view priority_names[] = {"low", "normal", "high"};
constexpr std::string_view status_names[] = {"Declared", "Spawned", "Started", "Finished",
                                             "Crashed"};

/// Writes every entry of `persistent` over `target` (both JSON objects).
void overlay(value& target, const value& persistent) {
  if (!target.is_object()) target = value::object();
  for (const auto& [key, v] : persistent.items())
    target[key] = v;
}

/// Returns `inherited` plus the entries of `added` that it does not have.
value extend(const value& inherited, const value& added) {
  value out = inherited.is_object() ? inherited : value::object();
  if (added.is_object())
    for (const auto& [key, v] : added.items())
      out.emplace(key, v);
  return out;
}

} // namespace

std::string_view to_string(priority p) {
  return priority_names[static_cast<int>(p)];
}

std::string_view to_string(task_status s) {
  return status_names[static_cast<int>(s)];
}

std::optional<priority> parse_priority(std::string_view text) {
  for (int i = 0; i < 3; ++i)
    if (priority_names[i] == text) return static_cast<priority>(i);
  return std::nullopt;
}

std::optional<task_status> parse_task_status(std::string_view text) {
  for (int i = 0; i < 5; ++i)
    if (status_names[i] == text) return static_cast<task_status>(i);
  return std::nullopt;
}

bool operator==(const task& a, const task& b) {
  return a.uid == b.uid && a.parent_uid == b.parent_uid && a.root_uid == b.root_uid &&
         a.orig_uid == b.orig_uid && a.headers == b.headers && a.payload == b.payload &&
         a.headers_persistent == b.headers_persistent &&
         a.payload_persistent == b.payload_persistent && a.priority == b.priority &&
         a.status == b.status && a.error == b.error && a.last_update == b.last_update &&
         a.receiver == b.receiver && a.attempt == b.attempt && a.score == b.score &&
         a.spawned == b.spawned && a.sole_fork == b.sole_fork &&
         a.unknown_fields == b.unknown_fields;
}

double unix_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

task make_task(value headers, value payload, enum priority p, value headers_persistent,
               value payload_persistent) {
  task t;
  t.uid = new_uid();
  t.root_uid = t.uid;
  t.headers = std::move(headers);
  t.payload = std::move(payload);
  t.headers_persistent = extend(value::object(), headers_persistent);
  t.payload_persistent = extend(value::object(), payload_persistent);
  overlay(t.headers, t.headers_persistent);
  overlay(t.payload, t.payload_persistent);
  t.priority = p;
  t.last_update = unix_now();
  return t;
}

task derive_child(const task& parent, value headers, value payload, value headers_persistent,
                  value payload_persistent) {
  task t;
  t.uid = new_uid();
  t.parent_uid = parent.uid;
  t.root_uid = parent.root_uid;
  t.headers = std::move(headers);
  t.payload = std::move(payload);
  t.headers_persistent = extend(parent.headers_persistent, headers_persistent);
  t.payload_persistent = extend(parent.payload_persistent, payload_persistent);
  overlay(t.headers, t.headers_persistent);
  overlay(t.payload, t.payload_persistent);
  t.priority = parent.priority;
  t.last_update = unix_now();
  return t;
}

task fork_for(const task& unrouted, std::string_view identity) {
  task t = unrouted;
  t.uid = fork_uid(unrouted.uid, identity);
  t.orig_uid = unrouted.uid;
  t.receiver = std::string{identity};
  t.status = task_status::spawned;
  t.spawned.clear();
  t.sole_fork = false;
  t.last_update = unix_now();
  return t;
}

task routed_record(const task& unrouted, std::vector<std::string> forks) {
  task t = unrouted;
  t.sole_fork = false; // an external client may have set it
  t.status = task_status::finished;
  t.spawned = std::move(forks);
  t.last_update = unix_now();
  return t;
}

task routed_root_of(const task& sole_fork) {
  task t = sole_fork;
  t.uid = sole_fork.orig_uid;
  t.orig_uid.clear();
  t.receiver.clear();
  t.status = task_status::finished;
  t.error.clear();
  t.attempt = 0;
  t.score = 0;
  t.spawned = {sole_fork.uid};
  t.sole_fork = false;
  return t;
}

task make_retry(const task& crashed) {
  task t = crashed;
  t.uid = new_uid();
  t.orig_uid = crashed.uid;
  t.status = task_status::spawned;
  t.error.clear();
  t.spawned.clear();
  // A retry reopens an analysis whose routing ended long ago; the
  // housekeeper confirms that from the earlier announcement.
  t.sole_fork = false;
  t.attempt = 0;
  t.last_update = unix_now();
  return t;
}

} // namespace sy
