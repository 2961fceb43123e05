#include "actors/scheduler/commit.hpp"

#include "runtime/log/log.hpp"
#include "runtime/pipeline/crashed_index.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/pipeline/producer.hpp"
#include "runtime/task/codec.hpp"

#include <atomic>
#include <mutex>

namespace sy::actors {

namespace {

constexpr auto retry_delay = std::chrono::seconds{1};

struct commit_job : std::enable_shared_from_this<commit_job> {
  commit_deps deps;
  delivery msg;
  outcome result;
  std::function<void()> done;
  std::atomic<std::size_t> pending_children{0};
  std::atomic<bool> child_failed{false};
  bool indexed = false;

  void finish(bool acked) {
    if (acked) {
      (void)msg->ack();
      deps.metrics->consumed++;
      (result.crashed ? deps.metrics->crashed : deps.metrics->finished)++;
    } else {
      (void)msg->nak(retry_delay);
    }
    if (done) done();
  }

  void write_terminal_record() {
    auto& t = result.job;
    t.status = result.crashed ? task_status::crashed : task_status::finished;
    t.error = result.crashed ? result.error : std::string{};
    t.last_update = unix_now();
    auto self = shared_from_this();
    if (result.crashed && !indexed) {
      // The index entry first: one whose record never turns Crashed is
      // stale and dropped by its reader; a Crashed record without an entry
      // would be missing from the crashed lists.
      indexed = true;
      return pipeline::index_crashed_async(*deps.conn, t, [self](expected<void> r) {
        if (!r) {
          log::get("worker")->warn("[{} {}] cannot index the crash, will run again: {}",
                                   self->result.job.uid, self->result.job.root_uid,
                                   r.error().message);
          return self->finish(false);
        }
        self->write_terminal_record();
      });
    }
    deps.tasks->put_async(pipeline::task_key(t), encode(t), [self](expected<std::uint64_t> r) {
      if (!r)
        log::get("worker")->warn("[{} {}] cannot record {}, will run again: {}",
                                 self->result.job.uid, self->result.job.root_uid,
                                 to_string(self->result.job.status), r.error().message);
      self->finish(r.has_value());
    });
  }

  void publish_children() {
    pending_children = result.children.size();
    auto self = shared_from_this();
    for (auto& child : result.children) {
      pipeline::declare_and_publish(
          *deps.conn, deps.tasks, std::move(child), [self](expected<std::string> sent) {
            if (!sent) {
              log::get("worker")->warn("[{} {}] child not sent, will run again: {}",
                                       self->result.job.uid, self->result.job.root_uid,
                                       sent.error().message);
              self->child_failed = true;
            }
            if (--self->pending_children > 0) return;
            if (self->child_failed) return self->finish(false);
            self->write_terminal_record();
          });
    }
  }
};

} // namespace

void commit(const commit_deps& deps, delivery msg, outcome result, std::function<void()> done) {
  auto job = std::make_shared<commit_job>();
  job->deps = deps;
  job->msg = std::move(msg);
  job->result = std::move(result);
  job->done = std::move(done);
  if (job->result.crashed || job->result.children.empty()) return job->write_terminal_record();
  // The finished record lists the children, for the housekeeper.
  for (const auto& child : job->result.children)
    job->result.job.spawned.push_back(child.uid);
  job->publish_children();
}

} // namespace sy::actors
