#pragma once

#include "runtime/broker/write_batch.hpp"

#include <caf/detail/type_list.hpp>
#include <caf/mailbox_element.hpp>

namespace sy::actors {

/// The message signatures whose handlers open a `mailbox_batch`, as
/// `caf::detail::type_list`s.
template <class... Ts> using batched = caf::detail::type_list<Ts...>;

/// Holds back the socket writes of one message's handler while the next
/// message in the actor's mailbox is one of `Next` (whose handler ends the
/// batch in turn): an actor working down a backlog writes its publishes and
/// acks with one system call per few messages, an idle one when the handler
/// returns. Any other next message (one whose handler might not write)
/// ends the batch at once, so nothing waits for a write that may not come.
template <class Self, class... Next> class mailbox_batch {
public:
  explicit mailbox_batch(Self* self) noexcept : self_(self) {}
  ~mailbox_batch() { batch_.end(next_is_batched()); }
  mailbox_batch(const mailbox_batch&) = delete;
  mailbox_batch& operator=(const mailbox_batch&) = delete;

private:
  bool next_is_batched() {
    auto* next = self_->mailbox().peek();
    return next && (next->content().match_elements(Next{}) || ...);
  }

  Self* self_;
  broker::write_batch batch_;
};

/// `mailbox_batch<Self, Next...>` for `self`.
template <class... Next, class Self> mailbox_batch<Self, Next...> batch_writes(Self* self) {
  return mailbox_batch<Self, Next...>{self};
}

} // namespace sy::actors
