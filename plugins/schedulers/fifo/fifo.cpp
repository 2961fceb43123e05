// sy.schedulers.fifo: strict priority classes (high, normal, low), first in
// first out inside a class. Ignores the ranker's score; never full; takes
// no config.
#include "runtime/plugin/builtins.hpp"

#include <array>
#include <deque>

namespace sy::plugin {

namespace {

class fifo final : public scheduler {
public:
  push_result push(std::uint64_t ticket, const task& t, double) override {
    classes_[static_cast<std::size_t>(t.priority)].push_back(ticket);
    ++size_;
    return {};
  }

  std::optional<std::uint64_t> pop() override {
    for (auto c = classes_.rbegin(); c != classes_.rend(); ++c) {
      if (c->empty()) continue;
      auto ticket = c->front();
      c->pop_front();
      --size_;
      return ticket;
    }
    return std::nullopt;
  }

  std::vector<std::uint64_t> clear() override {
    std::vector<std::uint64_t> out;
    while (auto t = pop())
      out.push_back(*t);
    return out;
  }

  std::size_t size() const override { return size_; }

private:
  /// By priority: low, normal, high.
  std::array<std::deque<std::uint64_t>, 3> classes_;
  std::size_t size_ = 0;
};

expected<void> no_config(const value& config) {
  if (!config.is_null() && !(config.is_object() && config.empty()))
    return make_error(errc::config, "sy.schedulers.fifo: takes no config keys");
  return {};
}

} // namespace

void add_fifo_scheduler(registry& reg) {
  (void)reg.add(scheduler_factory{
      "sy.schedulers.fifo",
      no_config,
      [](const value& config) -> expected<std::unique_ptr<scheduler>> {
        if (auto r = no_config(config); !r) return r.error();
        return std::unique_ptr<scheduler>(std::make_unique<fifo>());
      },
  });
}

} // namespace sy::plugin
