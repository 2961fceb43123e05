#pragma once

#include "runtime/task/task.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <string>
#include <vector>

/// Leases: how a scheduler hands tasks of an external identity to workers
/// outside the node (docs/API.md "External workers"). A popped task is
/// recorded Started and leased under a random id until a deadline; the
/// worker reports its outcome with that id. A lease not reported in time
/// expires and the task goes back to the queue, so a task is never held by
/// two workers at once: a late report of an expired lease is refused.
namespace sy::actors {

/// A task handed out, with its lease.
struct leased_task {
  task job;
  std::string lease;
  /// Unix seconds.
  double expires_at = 0;
};

struct lease_batch {
  std::vector<leased_task> tasks;
};

/// What an external worker reports for a leased task.
struct lease_report {
  std::string uid;
  std::string lease;
  /// Finished, Crashed, or Started (extends the lease).
  task_status status = task_status::finished;
  std::string error;
  /// Children to send, only when the task finished: objects with
  /// `headers` and optionally `payload`, `headers_persistent`,
  /// `payload_persistent` (checked by the caller), derived from the task.
  std::vector<value> children;
};

/// The answer to a report: `ok`, or `unknown`: this node holds no such
/// lease (it expired and the task went back to the queue, or it was never
/// leased here).
struct report_reply {
  enum outcome { ok, unknown } what = ok;
  /// When the (extended) lease expires, Unix seconds.
  double expires_at = 0;
};

} // namespace sy::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sy::actors::lease_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sy::actors::lease_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sy::actors::report_reply)
