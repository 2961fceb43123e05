#include "runtime/broker/subscription.hpp"

#include "runtime/broker/connection.hpp"
#include "runtime/broker/subscription_state.hpp"
#include "runtime/broker/write_batch.hpp"

#include <nats/nats.h>

namespace sy::broker {

subscription::subscription(natsSubscription* sub, std::shared_ptr<state> st,
                           std::shared_ptr<connection> conn) noexcept
    : sub_(sub), state_(std::move(st)), conn_(std::move(conn)) {}

subscription::subscription(subscription&& other) noexcept
    : sub_(std::exchange(other.sub_, nullptr)), state_(std::move(other.state_)),
      conn_(std::move(other.conn_)) {}

subscription& subscription::operator=(subscription&& other) noexcept {
  if (this != &other) {
    unsubscribe();
    sub_ = std::exchange(other.sub_, nullptr);
    state_ = std::move(other.state_);
    conn_ = std::move(other.conn_);
  }
  return *this;
}

subscription::~subscription() {
  unsubscribe();
}

void subscription::unsubscribe() {
  if (!sub_) return;
  natsSubscription_Unsubscribe(sub_); // fails harmlessly if already closed
  wait_complete();
  release();
}

expected<void> subscription::drain(std::chrono::milliseconds timeout) {
  if (!sub_) return {};
  if (state_->on_delivery_thread()) {
    natsSubscription_DrainTimeout(sub_, timeout.count());
    return {};
  }
  natsStatus s = natsSubscription_DrainTimeout(sub_, timeout.count());
  if (s != NATS_OK) {
    // Already closed (e.g. the connection closed): nothing left to deliver.
    unsubscribe();
    return {};
  }
  natsSubscription_WaitForDrainCompletion(sub_, 0); // bounded by the drain timeout
  wait_complete();
  s = natsSubscription_DrainCompletionStatus(sub_);
  release();
  if (s != NATS_OK)
    return make_error(errc::unavailable, "subscription drain did not complete within " +
                                             std::to_string(timeout.count()) +
                                             " ms; undelivered messages were dropped");
  return {};
}

void subscription::drain_async(std::chrono::milliseconds timeout) {
  if (sub_) natsSubscription_DrainTimeout(sub_, timeout.count());
}

bool subscription::is_complete() const {
  return !sub_ || state_->is_complete();
}

void subscription::wait_complete() {
  if (!state_->on_delivery_thread()) state_->wait_complete();
}

void subscription::release() {
  natsSubscription_Destroy(sub_);
  sub_ = nullptr;
  state_.reset();
  conn_.reset();
}

} // namespace sy::broker

namespace sy::broker {

bool subscription::state::is_complete() const {
  std::lock_guard<std::mutex> guard(mu_);
  return completed_;
}

void subscription::state::wait_complete() {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [this] { return completed_; });
}

void subscription::state::on_message(natsConnection*, natsSubscription* sub, natsMsg* msg,
                                     void* closure) {
  auto& st = **static_cast<std::shared_ptr<state>*>(closure);
  st.delivery_thread.store(std::this_thread::get_id(), std::memory_order_relaxed);
  auto conn = st.conn.lock();
  // What the handler publishes (acks, the next write of a pipeline step) goes
  // out with the writes of the messages queued right behind this one: this
  // thread delivers them next, or, should the subscription close first,
  // calls `on_complete`.
  write_batch batch;
  struct end_batch {
    write_batch& batch;
    natsSubscription* sub;
    ~end_batch() {
      int queued = 0;
      if (natsSubscription_GetPending(sub, &queued, nullptr) != NATS_OK) queued = 0;
      batch.end(queued > 0, true);
    }
  } ender{batch, sub};
  try {
    st.handler(message(msg, conn));
  } catch (const std::exception& e) {
    if (conn && conn->options().on_error)
      conn->options().on_error(std::string("a subscription handler threw: ") + e.what());
  } catch (...) {
    if (conn && conn->options().on_error)
      conn->options().on_error("a subscription handler threw a non-standard exception");
  }
}

void subscription::state::on_complete(void* closure) {
  { write_batch last; } // writes what the last handlers held over
  auto* holder = static_cast<std::shared_ptr<state>*>(closure);
  auto st = std::move(*holder);
  delete holder;
  {
    std::lock_guard<std::mutex> guard(st->mu_);
    st->completed_ = true;
  }
  st->cv_.notify_all();
}

} // namespace sy::broker
