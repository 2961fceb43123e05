#include "runtime/pipeline/queue_drain.hpp"

#include "runtime/broker/consumer_spec.hpp"
#include "runtime/broker/pull_consumer.hpp"
#include "runtime/pipeline/crashed_index.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/task/codec.hpp"

#include <thread>

namespace sy::pipeline {

namespace {

using namespace std::chrono_literals;

/// Records the queued task `m` Crashed, then acks it; undecodable bytes go
/// to SY_PARKED first. On a failed write the message is nak'ed and comes
/// back.
void take(broker::connection& conn, std::shared_ptr<broker::kv_bucket> tasks,
          const std::string& reason, std::shared_ptr<queue_drain::counts> counts,
          broker::message m) {
  auto msg = std::make_shared<broker::message>(std::move(m));
  ++counts->unacked;
  auto settle = [counts, msg](bool stored) {
    if (stored) {
      (void)msg->ack();
      ++counts->removed;
    } else {
      (void)msg->nak(1s);
    }
    --counts->unacked;
    if (auto p = counts->puller.load()) p->release();
  };
  auto t = decode_task(msg->data());
  if (!t) {
    broker::outgoing_message parked;
    parked.subject = parked_subject("queue");
    parked.data = std::string{msg->data()};
    parked.headers = {{"Sy-Error", t.error().message}, {"Sy-Subject", std::string{msg->subject()}}};
    conn.js_publish_async(parked, [settle](expected<broker::pub_ack> ack) { settle(!!ack); });
    return;
  }
  t->status = task_status::crashed;
  t->error = reason;
  t->last_update = unix_now();
  index_crashed_async(conn, *t, [tasks, t = *t, settle](expected<void> indexed) {
    if (!indexed) return settle(false);
    tasks->put_async(task_key(t), encode(t),
                     [settle](expected<std::uint64_t> stored) { settle(!!stored); });
  });
}

} // namespace

expected<std::unique_ptr<queue_drain>> queue_drain::start(std::shared_ptr<broker::connection> conn,
                                                          std::shared_ptr<broker::kv_bucket> tasks,
                                                          const std::string& identity,
                                                          std::string reason) {
  std::unique_ptr<queue_drain> d{new queue_drain};
  d->conn_ = conn;
  d->identity_ = identity;
  d->durable_ = "sy-drain-" + identity_token(identity);
  broker::consumer_spec spec;
  spec.stream = queues_stream;
  spec.durable = d->durable_;
  spec.filter_subject = queue_filter(identity);
  spec.inactive_threshold = 1min; // gone by itself if its owner dies
  spec.description = "switchyard: draining the queue of removed identity " + identity;
  if (auto r = broker::ensure_consumer(*conn, spec); !r) return r.error();
  broker::pull_options popts;
  popts.stream = spec.stream;
  popts.consumer = spec.durable;
  popts.window = 1024;
  popts.batch = 256;
  popts.start_paused = true;
  popts.on_message = [conn = conn.get(), tasks, reason = std::move(reason), counts = d->counts_](
                         broker::message m) { take(*conn, tasks, reason, counts, std::move(m)); };
  auto puller = broker::pull_consumer::start(conn, std::move(popts));
  if (!puller) {
    (void)broker::delete_consumer(*conn, spec.stream, spec.durable);
    return puller.error();
  }
  d->puller_ = std::move(*puller);
  d->counts_->puller = d->puller_.get();
  d->puller_->resume();
  return d;
}

queue_drain::~queue_drain() {
  if (puller_) (void)puller_->stop(5s);
  // Writes still in flight return credit to the puller: let them land.
  for (int i = 0; i < 500 && counts_->unacked > 0; ++i)
    std::this_thread::sleep_for(10ms);
  counts_->puller = nullptr;
  (void)broker::delete_consumer(*conn_, queues_stream, durable_);
}

bool queue_drain::finished() const {
  if (counts_->unacked > 0) return false;
  auto state = broker::consumer_info(*conn_, queues_stream, durable_);
  return state && state->num_pending == 0 && state->num_ack_pending == 0;
}

} // namespace sy::pipeline
