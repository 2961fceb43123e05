#include "runtime/pipeline/producer.hpp"

#include "runtime/broker/object_store.hpp"
#include "runtime/broker/stream_spec.hpp"
#include "runtime/broker/zip_stream.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/task/codec.hpp"
#include "runtime/task/resource_ref.hpp"
#include "runtime/task/uid.hpp"

#include <filesystem>
#include <future>

namespace sy::pipeline {

namespace {

/// Attempts per write of a send. A write that got no answer may still have
/// been stored; repeating it settles that: a repeated create finds the
/// record there, and a publish repeated with the same msg id is acked as a
/// duplicate. Without this, a send cut by a broker failover would remove
/// the record of a task whose message was stored, and a router retrying it
/// would then take it as already routed.
constexpr int send_attempts = 3;

/// One send: the record, then the publish, each tried up to
/// `send_attempts` times while the broker is unavailable.
struct send_job : std::enable_shared_from_this<send_job> {
  std::shared_ptr<broker::connection> conn;
  std::shared_ptr<broker::kv_bucket> tasks;
  std::string key;
  std::string uid;
  /// The unrouted message; its data is also the record's value.
  broker::outgoing_message msg;
  /// The revision this send may overwrite (0: create only).
  std::uint64_t revision = 0;
  /// The record's revision if this send wrote it.
  std::uint64_t written = 0;
  int attempts = 0;
  send_handler done;

  void record() {
    ++attempts;
    // Create-only (or compare-and-set): a send repeated with the same uid
    // must not turn the record of a task already routed back into Declared,
    // which would keep its analysis open for good.
    tasks->update_async(
        key, msg.data, revision, [self = shared_from_this()](expected<std::uint64_t> r) {
          // A conflict: the record is there already, from an earlier send or
          // from this one's attempt whose answer was lost.
          if (r || r.error().code == errc::conflict) {
            self->written = r ? *r : 0;
            self->attempts = 0;
            return self->publish();
          }
          if (r.error().code == errc::unavailable && self->attempts < send_attempts)
            return self->record();
          self->done(make_error(r.error().code, "cannot record task " + self->uid + ": " +
                                                    r.error().message + self->tries()));
        });
  }

  void publish() {
    ++attempts;
    conn->js_publish_async(msg, [self = shared_from_this()](expected<broker::pub_ack> ack) {
      if (ack) return self->done(self->uid);
      if (ack.error().code == errc::unavailable && self->attempts < send_attempts)
        return self->publish();
      // A record without its message would keep the analysis open. It goes
      // by its revision, leaving no delete marker that would keep a send
      // repeated with the same uid from creating it again. If this fails
      // too, the caller still learns that the send failed and `switchyard
      // cancel` removes the record. One this send did not write is not its
      // to remove.
      if (self->written != 0)
        (void)broker::request_message_delete(*self->conn, tasks_stream, self->written);
      self->done(make_error(ack.error().code, "cannot publish task " + self->uid + ": " +
                                                  ack.error().message + self->tries()));
    });
  }

  std::string tries() const {
    return attempts > 1 ? " (" + std::to_string(attempts) + " attempts)" : "";
  }
};

} // namespace

void declare_and_publish(broker::connection& conn, const std::shared_ptr<broker::kv_bucket>& tasks,
                         task t, send_handler done, std::uint64_t revision) {
  t.status = task_status::declared;
  t.last_update = unix_now();
  auto job = std::make_shared<send_job>();
  job->conn = conn.shared_from_this();
  job->tasks = tasks;
  job->key = task_key(t);
  job->uid = t.uid;
  job->msg.data = encode(t);
  job->msg.subject = unrouted_subject(t.priority);
  job->msg.msg_id = t.uid;
  job->revision = revision;
  job->done = std::move(done);
  // A root's routing needs no record (the router writes it), and the
  // analysis waits for it. A child is listed by its parent's record, and a
  // listed task without a record counts as removed, so it needs one first;
  // so does a root that refers to resources, which the resource collection
  // keeps only while a record refers to them.
  if (t.uid == t.root_uid && revision == 0 && find_resources(t.payload).empty())
    return job->publish();
  job->record();
}

producer::producer(std::shared_ptr<broker::connection> conn,
                   std::shared_ptr<broker::kv_bucket> tasks)
    : conn_(std::move(conn)), tasks_(std::move(tasks)) {}

expected<producer> producer::open(std::shared_ptr<broker::connection> conn) {
  auto tasks = broker::kv_bucket::open(conn, tasks_bucket);
  if (!tasks) return tasks.error();
  return producer{std::move(conn), std::make_shared<broker::kv_bucket>(std::move(*tasks))};
}

void producer::send_async(task t, send_handler done) {
  declare_and_publish(*conn_, tasks_, std::move(t), std::move(done));
}

namespace {

error no_answer(std::chrono::milliseconds timeout) {
  return make_error(errc::unavailable, "no answer from the broker within " +
                                           std::to_string(timeout.count()) +
                                           " ms; the send goes on in the background");
}

} // namespace

expected<std::string> producer::send(task t, std::chrono::milliseconds timeout) {
  auto sent = send_and_wait(std::move(t), 0, timeout);
  if (!sent) return no_answer(timeout);
  return std::move(*sent);
}

std::optional<expected<std::string>> producer::send_and_wait(task t, std::uint64_t revision,
                                                             std::chrono::milliseconds timeout) {
  auto result = std::make_shared<std::promise<expected<std::string>>>();
  auto future = result->get_future();
  declare_and_publish(
      *conn_, tasks_, std::move(t),
      [result](expected<std::string> r) { result->set_value(std::move(r)); }, revision);
  if (future.wait_for(timeout) != std::future_status::ready) return std::nullopt;
  return future.get();
}

expected<std::string> producer::send(task t, const std::vector<attachment>& files,
                                     std::chrono::milliseconds timeout) {
  if (files.empty()) return send(std::move(t), timeout);
  auto store = broker::object_store::open(conn_, resources_bucket);
  if (!store) return store.error();
  std::vector<resource_ref> refs;
  for (const auto& f : files) {
    resource_ref ref;
    ref.name = f.name;
    ref.bucket = resources_bucket;
    ref.object = new_uid();
    t.payload[f.key] = to_value(ref);
    refs.push_back(std::move(ref));
  }
  t.status = task_status::declared;
  t.last_update = unix_now();
  auto key = task_key(t);
  auto declared = tasks_->put(key, encode(t));
  if (!declared) return declared.error();
  auto undo = [&](std::size_t uploaded, const error& e) -> error {
    for (std::size_t i = 0; i < uploaded; ++i)
      (void)store->remove(refs[i].object);
    (void)tasks_->erase(key);
    return e;
  };
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& f = files[i];
    std::map<std::string, std::string> about{
        {"name", f.name}, {"task", t.uid}, {"root_uid", t.root_uid}};
    expected<broker::object_info> put = make_error(errc::internal, "not uploaded");
    std::error_code ec;
    if (f.path.empty()) {
      put = store->put_bytes(refs[i].object, f.bytes, about);
    } else if (std::filesystem::is_directory(f.path, ec)) {
      about["content_type"] = "application/zip";
      auto zip = broker::zip_directory(f.path);
      put = zip ? store->put(refs[i].object, *zip, about)
                : expected<broker::object_info>{zip.error()};
    } else {
      put = store->put_file(refs[i].object, f.path, about);
    }
    if (!put)
      return undo(i, make_error(put.error().code, "cannot attach " +
                                                      (f.path.empty() ? f.name : f.path) + ": " +
                                                      put.error().message));
    refs[i].size = put->size;
    refs[i].sha256 = put->digest;
    t.payload[f.key] = to_value(refs[i]);
  }
  // Overwrites the record written above, now with the references complete.
  auto sent = send_and_wait(std::move(t), *declared, timeout);
  // Still going: it may yet publish the task, which needs its files. If it
  // fails instead, it removes the record, and the housekeeper's resource
  // collection removes the files nothing refers to.
  if (!sent) return no_answer(timeout);
  if (!*sent) return undo(files.size(), sent->error());
  return std::move(*sent);
}

} // namespace sy::pipeline
