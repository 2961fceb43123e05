#pragma once

#include "runtime/broker/message.hpp"
#include "runtime/broker/pull_consumer.hpp"

#include <atomic>
#include <caf/allowed_unsafe_message_type.hpp>
#include <memory>
#include <string>

namespace sy::actors {

/// A message pulled from a stream, handed from the broker thread to an actor.
/// Shared so that it fits into a CAF message; one owner at a time in
/// practice: the actor, then the chain of callbacks that acks it.
using delivery = std::shared_ptr<broker::message>;

/// Lets actors and broker callbacks return credit to (and pause) a puller
/// that is started after them: the puller's callback needs the actor, the
/// actor needs the puller. Thread-safe; calls before `attach` or after
/// `detach` do nothing.
class credit {
public:
  void attach(broker::pull_consumer* puller) { puller_.store(puller); }
  void detach() { puller_.store(nullptr); }
  void release(int n = 1) {
    if (auto p = puller_.load()) p->release(n);
  }
  void pause() {
    if (auto p = puller_.load()) p->pause();
  }
  void resume() {
    if (auto p = puller_.load()) p->resume();
  }

private:
  std::atomic<broker::pull_consumer*> puller_{nullptr};
};

} // namespace sy::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sy::actors::delivery)
