#include "runtime/ops/repair.hpp"

#include "runtime/pipeline/analysis_events.hpp"
#include "runtime/pipeline/crashed_index.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/task/codec.hpp"

namespace sy::ops {

using namespace std::chrono_literals;

namespace {

/// Tells the schedulers of the task's identity to drop it (a queued task is
/// then never run, a running one's outcome is replaced by the
/// cancellation), or the routers, for a task not routed yet.
expected<void> announce_cancel(session& s, const task& t) {
  auto bucket = broker::kv_bucket::open(s.conn, pipeline::cancelled_bucket);
  if (!bucket) return bucket.error();
  auto r = bucket->put(pipeline::cancelled_key(t.receiver, t.uid), std::to_string(unix_now()));
  if (!r)
    return make_error(
        r.error().code,
        "task " + t.uid + " is recorded cancelled, but the " +
            (t.receiver.empty() ? std::string{"routers were"} : "nodes of its identity were") +
            " not told (it may still " + (t.receiver.empty() ? "be routed" : "run") +
            "): " + r.error().message + "; cancelling it again tells them");
  return {};
}

/// Before the record of a crashed sole fork goes: while its analysis was
/// never announced, that record is all that tells a housekeeper replaying
/// `sy_tasks` that the root was routed, so the root gets the routed record
/// its router did not write (create-only). Once announced, the
/// announcement tells.
expected<void> keep_routing(session& s, const task& crashed) {
  if (!is_sole_fork_of_root(crashed)) return {};
  auto announced = pipeline::last_analysis_event(*s.conn, crashed.root_uid);
  if (!announced) return announced.error();
  if (*announced) return {};
  auto r = s.tasks->create(pipeline::task_key(crashed.root_uid, crashed.root_uid),
                           encode(routed_root_of(crashed)));
  if (!r && r.error().code != errc::conflict) return r.error();
  return {};
}

} // namespace

expected<std::string> retry(session& s, const task_record& crashed) {
  auto next = make_retry(crashed.t);
  auto subject = pipeline::queue_subject(next.receiver, next.priority);
  if (next.receiver.empty()) { // an unrouted task goes back to the routers
    next.status = task_status::declared;
    subject = pipeline::unrouted_subject(next.priority);
  }
  next.last_update = unix_now();
  auto bytes = encode(next);
  auto key = pipeline::task_key(next);
  if (auto r = s.tasks->put(key, bytes); !r) return r.error();
  auto ack = s.conn->js_publish({subject, bytes, {}, next.uid, {}}, 10s);
  if (!ack) {
    (void)s.tasks->erase(key); // a record without a message would keep the analysis open
    return make_error(ack.error().code, "publishing the retry of " + crashed.t.uid + " to " +
                                            subject + ": " + ack.error().message);
  }
  auto kept = keep_routing(s, crashed.t);
  if (kept) kept = s.tasks->erase(crashed.key);
  if (!kept)
    return make_error(kept.error().code, "retried " + crashed.t.uid + " as " + next.uid +
                                             " but its record stays: " + kept.error().message);
  (void)pipeline::unindex_crashed(*s.conn, crashed.t.uid); // a stale entry is dropped on reading
  return next.uid;
}

expected<std::string> retry(session& s, const std::string& uid) {
  auto record = find_record(*s.tasks, uid);
  if (!record) return record.error();
  if (record->t.status != task_status::crashed)
    return make_error(errc::conflict, "task " + uid + " is " +
                                          std::string{to_string(record->t.status)} +
                                          ", not Crashed: nothing to retry");
  return retry(s, *record);
}

expected<void> cancel(session& s, const std::string& uid) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto record = find_record(*s.tasks, uid);
    if (!record) return record.error();
    if (is_terminal(record->t.status)) {
      // A cancel whose nodes were not told is completed by the next one.
      if (record->t.status == task_status::crashed && record->t.error == pipeline::cancelled_reason)
        (void)announce_cancel(s, record->t);
      return make_error(errc::conflict,
                        "task " + uid + " is already " + std::string{to_string(record->t.status)});
    }
    auto t = record->t;
    t.status = task_status::crashed;
    t.error = pipeline::cancelled_reason;
    t.last_update = unix_now();
    if (auto r = pipeline::index_crashed(*s.conn, t); !r) return r.error();
    auto r = s.tasks->update(record->key, encode(t), record->revision);
    if (r) return announce_cancel(s, t);
    if (r.error().code != errc::conflict) return r.error();
  }
  return make_error(errc::conflict, "task " + uid + " keeps changing; try again");
}

expected<void> remove_crashed(session& s, const task_record& crashed) {
  if (auto r = keep_routing(s, crashed.t); !r) return r.error();
  if (auto r = s.tasks->erase(crashed.key); !r) return r.error();
  return pipeline::unindex_crashed(*s.conn, crashed.t.uid);
}

value analysis_json(const std::string& root, const std::vector<task_record>& records) {
  value tasks = value::array();
  for (const auto& r : records) {
    auto full = to_json(r.t);
    tasks.push_back({{"uid", r.t.uid},
                     {"parent_uid", r.t.parent_uid},
                     {"orig_uid", r.t.orig_uid},
                     {"status", to_string(r.t.status)},
                     {"receiver", r.t.receiver},
                     {"headers", full["headers"]},
                     {"error", r.t.error}});
  }
  return {{"root_uid", root}, {"tasks", tasks}};
}

expected<value> analysis(session& s, const std::string& root) {
  if (!pipeline::is_key_token(root))
    return make_error(errc::invalid_input, "\"" + root + "\" is not a task uid");
  auto records = read_analysis(*s.tasks, root);
  if (!records) return records.error();
  if (records->empty()) return make_error(errc::not_found, no_records_message(root));
  return analysis_json(root, *records);
}

std::string no_records_message(const std::string& root) {
  return "no records of analysis " + root +
         " (a root is recorded once it is routed; the housekeeper removes the records of a "
         "completed analysis; crashed ones stay for housekeeper.crashed_ttl)";
}

} // namespace sy::ops
