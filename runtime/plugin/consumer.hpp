#pragma once

#include "runtime/core/expected.hpp"
#include "runtime/plugin/resource.hpp"
#include "runtime/task/task.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace sy {

/// Severity of a line a consumer logs; mirrors spdlog's levels.
enum class log_level { trace, debug, info, warn, error };

/// What a consumer can do while it processes one task. Owned by the runtime;
/// valid only during the `process` call it was passed to. Not thread-safe:
/// call it from the thread running `process`.
class consumer_context : public resource_reader {
public:
  /// The resource payload value `v` refers to (e.g.
  /// `ctx.resource_of(t.payload["sample"])`); an error if `v` is not a
  /// resource reference.
  expected<resource> resource_of(const value& v) {
    auto ref = as_resource(v);
    if (!ref) return make_error(errc::invalid_input, "not a resource reference: " + v.dump());
    return resource{std::move(*ref), *this};
  }

  /// Queues a child task of the task being processed. Children are published
  /// after `process` returns successfully, together with the task's
  /// `Finished` record; a crashed task sends none. Use `derive_child` to
  /// build one: it inherits the tree, persistent values and priority.
  virtual void send(task child) = 0;

  /// Builds a child of the current task and queues it: the shortcut for
  /// `send(derive_child(current(), headers, payload))`.
  void send_child(value headers, value payload = value::object()) {
    send(derive_child(current(), std::move(headers), std::move(payload)));
  }

  /// Logs a line tagged with the task's uid, root and identity; it goes to
  /// the node's log and to the SY_LOGS stream.
  virtual void log(log_level level, std::string_view message) = 0;

  /// Tells the broker the task is still being worked on. The runtime already
  /// sends heartbeats while `process` runs; call this from long loops only if
  /// you want to be sure.
  virtual void heartbeat() = 0;

  /// True once the task passed its timeout or the node is stopping hard:
  /// long loops should check it and return early.
  virtual bool cancelled() const = 0;

  /// The task being processed.
  virtual const task& current() const = 0;
};

/// A consumer service's code. One instance per worker, so an instance is used
/// by one thread at a time and may keep state between tasks.
class consumer {
public:
  virtual ~consumer() = default;

  /// Processes `t`. Returning a value → the task is `Finished`; returning an
  /// error or throwing → `Crashed` with the error text stored. May block.
  virtual expected<void> process(const task& t, consumer_context& ctx) = 0;
};

} // namespace sy
