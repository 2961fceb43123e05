#pragma once

#include "runtime/broker/connection.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "runtime/core/expected.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace sy::broker {
class pull_consumer;
}

namespace sy::pipeline {

/// Empties the queue of a removed consumer identity. Not with a subject
/// filtered purge: nats-server 2.9 then moves every consumer of the stream
/// (the other identities' queues) past messages it has not delivered yet
/// (docs/PIPELINE.md). Instead a temporary consumer on the identity's
/// subjects takes each task, records it `Crashed` with `reason` (so its
/// analysis completes and the task can be retried; nothing disappears
/// silently) and acks it once the record is stored: SY_QUEUES is a work
/// queue, so acked messages are gone.
class queue_drain {
public:
  /// Starts draining. Blocking (a few API round trips).
  static expected<std::unique_ptr<queue_drain>> start(std::shared_ptr<broker::connection> conn,
                                                      std::shared_ptr<broker::kv_bucket> tasks,
                                                      const std::string& identity,
                                                      std::string reason);
  /// Stops and removes the temporary consumer.
  ~queue_drain();
  queue_drain(const queue_drain&) = delete;
  queue_drain& operator=(const queue_drain&) = delete;

  /// True once nothing is queued any more and every task taken was recorded
  /// and acked. Blocking (one API round trip).
  bool finished() const;
  /// Tasks taken out and recorded Crashed so far.
  std::uint64_t removed() const { return counts_->removed; }
  const std::string& identity() const { return identity_; }

  struct counts {
    std::atomic<std::uint64_t> removed{0};
    std::atomic<std::uint64_t> unacked{0};
    /// Gets the credit of settled messages back; set once started.
    std::atomic<broker::pull_consumer*> puller{nullptr};
  };

private:
  queue_drain() = default;
  std::shared_ptr<broker::connection> conn_;
  std::string identity_;
  std::string durable_;
  std::shared_ptr<counts> counts_ = std::make_shared<counts>();
  std::unique_ptr<broker::pull_consumer> puller_;
};

} // namespace sy::pipeline
