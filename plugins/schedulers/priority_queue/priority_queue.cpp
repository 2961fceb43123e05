// sy.schedulers.priority_queue: the KAT scheduler's priority queue. Tasks
// wait ordered by the ranker's score (FIFO among equal scores) and are
// deduplicated by a hash of their content.
//
// config keys:
//   maxsize                 integer >= 0, most waiting tasks; 0 = unbounded
//                           (default 0). A full queue takes no task from the
//                           stream but high priority ones.
//   allow_replace           a task whose hash is waiting replaces the waiting
//                           one's content (default false)
//   allow_updates           ... when its payload differs (default false)
//   allow_priority_updates  ... when its priority differs (default false)
//   hash                    list of "headers.<key>" / "payload.<key>" (a bare
//                           key is a header) the hash covers; default: every
//                           header and the whole payload
// A task whose hash is waiting and that no rule lets in is a duplicate.
//
// sy.schedulers.periodic: the same queue with the defaults for work that
// periodic schedules send (docs/PLUGINS.md "Schedules"): hashed by headers
// only ("headers.*") with allow_updates, so a run that finds the previous
// run of its blueprint still waiting merges into it (its payload wins)
// instead of piling up. Same config keys.
#include "runtime/plugin/builtins.hpp"
#include "runtime/scheduling/ranked_queue.hpp"
#include "runtime/scheduling/task_hash.hpp"

namespace sy::plugin {

namespace {

struct queue_options {
  scheduling::queue_rules rules;
  std::vector<std::string> hash_keys;
};

error bad_key(const std::string& name, const std::string& key, const std::string& expected) {
  return make_error(errc::config, name + ": key \"" + key + "\": " + expected);
}

expected<queue_options> parse_options(const value& config, queue_options opts = {},
                                      const std::string& name = "sy.schedulers.priority_queue") {
  if (config.is_null()) return opts;
  if (!config.is_object()) return make_error(errc::config, name + ": config must be a table");
  for (const auto& [key, v] : config.items()) {
    if (key == "maxsize") {
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0)
        return bad_key(name, key, "expected an integer >= 0");
      opts.rules.maxsize = v.get<std::size_t>();
    } else if (key == "allow_replace" || key == "allow_updates" ||
               key == "allow_priority_updates") {
      if (!v.is_boolean()) return bad_key(name, key, "expected true or false");
      (key == "allow_replace"   ? opts.rules.allow_replace
       : key == "allow_updates" ? opts.rules.allow_updates
                                : opts.rules.allow_priority_updates) = v.get<bool>();
    } else if (key == "hash") {
      if (!v.is_array() || v.empty())
        return bad_key(name, key,
                       "expected a non-empty list of \"headers.<key>\" or \"payload.<key>\"");
      opts.hash_keys.clear(); // the list replaces the defaults
      for (const auto& k : v) {
        if (!k.is_string() || k.get<std::string>().empty())
          return bad_key(name, key, "expected non-empty strings, got " + k.dump());
        opts.hash_keys.push_back(k.get<std::string>());
      }
    } else {
      return bad_key(name, key,
                     "unknown key (known: maxsize, allow_replace, allow_updates, "
                     "allow_priority_updates, hash)");
    }
  }
  return opts;
}

class priority_queue final : public scheduler {
public:
  explicit priority_queue(queue_options opts)
      : queue_(opts.rules), hash_keys_(std::move(opts.hash_keys)) {}

  push_result push(std::uint64_t ticket, const task& t, double score) override {
    scheduling::queue_item<std::uint64_t> item;
    item.hash = scheduling::task_hash(t, hash_keys_);
    item.score = score;
    item.priority = static_cast<int>(t.priority);
    item.content = scheduling::payload_digest(t);
    item.manual = t.priority == priority::high;
    // An update keeps the waiting entry's ticket: the held task stays the
    // one that runs, with the new content.
    const auto* waiting = queue_.find(item.hash);
    std::uint64_t waiting_ticket = waiting ? waiting->item.value : 0;
    item.value = waiting ? waiting_ticket : ticket;
    switch (queue_.push(std::move(item))) {
    case scheduling::push_result::added:
      return {admission::queued, 0};
    case scheduling::push_result::updated:
      return {admission::updated, waiting_ticket};
    case scheduling::push_result::duplicate:
      return {admission::duplicate, waiting_ticket};
    case scheduling::push_result::full:
      break;
    }
    return {admission::full, 0};
  }

  std::optional<std::uint64_t> pop() override {
    auto top = queue_.pop();
    if (!top) return std::nullopt;
    return top->item.value;
  }

  std::vector<std::uint64_t> clear() override {
    std::vector<std::uint64_t> out;
    while (auto t = pop())
      out.push_back(*t);
    return out;
  }

  std::size_t size() const override { return queue_.size(); }

private:
  scheduling::ranked_queue<std::uint64_t> queue_;
  std::vector<std::string> hash_keys_;
};

/// Registers the queue under `name` with default options `defaults`.
void add_queue(registry& reg, const std::string& name, const queue_options& defaults) {
  (void)reg.add(scheduler_factory{
      name,
      [name, defaults](const value& config) -> expected<void> {
        auto opts = parse_options(config, defaults, name);
        if (!opts) return opts.error();
        return {};
      },
      [name, defaults](const value& config) -> expected<std::unique_ptr<scheduler>> {
        auto opts = parse_options(config, defaults, name);
        if (!opts) return opts.error();
        return std::make_unique<priority_queue>(std::move(*opts));
      },
  });
}

} // namespace

void add_priority_queue_scheduler(registry& reg) {
  add_queue(reg, "sy.schedulers.priority_queue", {});
  queue_options periodic;
  periodic.hash_keys = {"headers.*"};
  periodic.rules.allow_updates = true;
  add_queue(reg, "sy.schedulers.periodic", periodic);
}

} // namespace sy::plugin
