#pragma once

#include "runtime/task/task.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace sy {

/// What became of a task offered to a scheduler.
enum class admission {
  /// The scheduler holds the task until `pop` or `clear` returns its ticket.
  queued,
  /// A held task (`push_result::waiting`) takes the offered task's headers,
  /// payload and priority and keeps its own identity (uid, ticket); the
  /// offered task is not held and ends as a duplicate once the held one ran.
  updated,
  /// The offered task duplicates the held `push_result::waiting` and is not
  /// held; it ends as a duplicate (a metric and a log line, never silence).
  duplicate,
  /// The scheduler is full: the offered task is not held. The runtime keeps
  /// it (unacked) and stops taking tasks from the stream until a `pop`,
  /// then offers it again. Nothing is lost.
  full,
};

struct push_result {
  admission what = admission::queued;
  /// With `updated` and `duplicate`: the held ticket concerned.
  std::uint64_t waiting = 0;
};

/// Orders the tasks of one consumer identity's queue that this node holds:
/// a bounded window of tasks pulled from the stream and not yet acked (the
/// stream stays the truth, so a dead node loses nothing). The runtime names
/// each task by a ticket, unique per queue, and asks for the next one
/// whenever a worker is free.
///
/// One instance per queue, called from one thread at a time.
class scheduler {
public:
  virtual ~scheduler() = default;

  /// Offers task `t`, which the queue's ranker scored `score`, under
  /// `ticket`.
  virtual push_result push(std::uint64_t ticket, const task& t, double score) = 0;

  /// Removes and returns the ticket to run next; none when nothing is held.
  virtual std::optional<std::uint64_t> pop() = 0;

  /// Removes every held ticket and returns them (the node is stopping or
  /// the bind was replaced: the runtime hands them back to the stream).
  virtual std::vector<std::uint64_t> clear() = 0;

  /// Tickets held.
  virtual std::size_t size() const = 0;
};

} // namespace sy
