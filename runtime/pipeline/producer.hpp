#pragma once

#include "runtime/broker/connection.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "runtime/core/expected.hpp"
#include "runtime/task/task.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sy::pipeline {

/// A file (or bytes) to attach to a task as a resource (docs/RESOURCES.md).
struct attachment {
  /// The payload key that will hold the reference.
  std::string key;
  /// The resource's file name, as consumers see it.
  std::string name;
  /// The file to upload (a directory is uploaded as a ZIP archive of its
  /// files, stored without compression)...
  std::string path;
  /// ... or, when `path` is empty, these bytes.
  std::string bytes;
};

/// Receives the outcome of an asynchronous send: the uid, or why it failed.
using send_handler = std::function<void(expected<std::string>)>;

/// Sends tasks into switchyard (docs/PIPELINE.md "Records"): publishes a
/// root on `sy.unrouted.<priority>` with `Nats-Msg-Id = uid` (its router
/// records it); a child, or a root with attachments or other resource
/// references, gets its `Declared` record in `sy_tasks` first. A task is
/// accepted once its writes are confirmed. A write without an answer (the
/// broker unavailable, a failover) is tried again, up to 3 times: it may
/// have been stored, and the repeat tells. If the publish still fails a
/// record written for it is removed again, so a failed send leaves nothing
/// behind that could keep an analysis open. One exception: when only a
/// repeated create stored the record (it found it there), the send cannot
/// tell its own record from an earlier send's, and leaves it; `switchyard
/// cancel` removes it. Sending
/// the same task twice within the duplicate window stores it once, and a
/// record already there (a repeated send) is left as it is.
///
/// Thread-safe; `send` blocks, `send_async` does not.
class producer {
public:
  /// 2 writes × 3 attempts × the default 5 s ack timeout, and some slack.
  static constexpr std::chrono::milliseconds default_send_timeout{35000};

  /// Opens the `sy_tasks` bucket on `conn` (which `ensure_layout` created).
  static expected<producer> open(std::shared_ptr<broker::connection> conn);

  /// Sends `t` (status set to Declared) and waits up to `timeout`. The
  /// default covers every attempt of both writes at the connection's default
  /// `publish_ack_timeout`. A send still trying when `timeout` passes goes on
  /// in the background and ends as any other send does.
  expected<std::string> send(task t, std::chrono::milliseconds timeout = default_send_timeout);

  /// Sends `t` without waiting; `done` runs once on a broker thread.
  void send_async(task t, send_handler done);

  /// Sends `t` with `files` attached: records the task as Declared with
  /// references to objects named by fresh uids, uploads each file to bucket
  /// `sy_resources`, then sends the task with the references completed
  /// (size, digest). The record comes first, so the housekeeper never
  /// collects an upload in progress. On failure the uploaded objects and
  /// the record are removed again; if the send is still going when
  /// `timeout` passes, they stay for it (a send that then fails removes the
  /// record, and the housekeeper collects the files). Blocking.
  expected<std::string> send(task t, const std::vector<attachment>& files,
                             std::chrono::milliseconds timeout = default_send_timeout);

private:
  producer(std::shared_ptr<broker::connection> conn, std::shared_ptr<broker::kv_bucket> tasks);
  /// Sends with `declare_and_publish`'s `revision` and waits; none if the
  /// send was still going when `timeout` passed.
  std::optional<expected<std::string>> send_and_wait(task t, std::uint64_t revision,
                                                     std::chrono::milliseconds timeout);

  std::shared_ptr<broker::connection> conn_;
  std::shared_ptr<broker::kv_bucket> tasks_;
};

/// Publishes `t` (a new unrouted task: a root or a child), a child after
/// its `Declared` record was stored; `done` runs once on a broker thread.
/// The building block of `producer` and of workers sending children.
/// `revision` is the record's revision this send may overwrite (a root's
/// record written before its attachments were uploaded); 0, the default,
/// means none: a child's record already there is kept, and a root gets no
/// record.
void declare_and_publish(broker::connection& conn, const std::shared_ptr<broker::kv_bucket>& tasks,
                         task t, send_handler done, std::uint64_t revision = 0);

} // namespace sy::pipeline
