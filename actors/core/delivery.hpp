#pragma once

#include "runtime/broker/message.hpp"
#include "runtime/broker/pull_consumer.hpp"
#include "runtime/task/task.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <caf/allowed_unsafe_message_type.hpp>
#include <memory>
#include <string>

namespace sy::actors {

/// A message pulled from a stream, handed from the broker thread to an actor.
/// Shared so that it fits into a CAF message; one owner at a time in
/// practice: the actor, then the chain of callbacks that acks it.
using delivery = std::shared_ptr<broker::message>;

/// Lets actors and broker callbacks return credit to (and pause) the
/// pullers that feed them, started after them: a puller's callback needs
/// the actor, the actor needs the puller. An actor fed by one puller per
/// priority (a scheduler) returns a message's credit to the puller of the
/// priority its subject ends with. Thread-safe; calls before `attach` or
/// after `detach` do nothing.
class credit {
public:
  /// `puller` delivers every message.
  void attach(broker::pull_consumer* puller) {
    for (auto& slot : pullers_)
      slot.store(puller);
  }
  /// `puller` delivers the messages of priority `p`.
  void attach(priority p, broker::pull_consumer* puller) { slot(p).store(puller); }
  void detach() { attach(nullptr); }
  /// The application is done with `m`.
  void release(const broker::message& m) {
    auto p = parse_priority(last_token(m.subject()));
    if (auto puller = slot(p.value_or(priority::normal)).load()) puller->release(1);
  }
  void pause() {
    for_each([](broker::pull_consumer& p) { p.pause(); });
  }
  void resume() {
    for_each([](broker::pull_consumer& p) { p.resume(); });
  }

private:
  std::atomic<broker::pull_consumer*>& slot(priority p) {
    return pullers_[static_cast<std::size_t>(p)];
  }
  static std::string_view last_token(std::string_view subject) {
    auto dot = subject.rfind('.');
    return dot == std::string_view::npos ? subject : subject.substr(dot + 1);
  }
  /// Each distinct puller once.
  template <class F> void for_each(F f) {
    broker::pull_consumer* seen[3] = {nullptr, nullptr, nullptr};
    for (std::size_t i = 0; i < pullers_.size(); ++i) {
      auto p = pullers_[i].load();
      if (!p || std::find(seen, seen + i, p) != seen + i) continue;
      seen[i] = p;
      f(*p);
    }
  }

  /// By priority (low, normal, high).
  std::array<std::atomic<broker::pull_consumer*>, 3> pullers_{};
};

} // namespace sy::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sy::actors::delivery)
