#pragma once

#include "runtime/broker/kv_entry.hpp"
#include "runtime/core/expected.hpp"

#include <functional>
#include <memory>
#include <string>

namespace sy::broker {

/// What `kv_bucket::watch` reports and how.
struct kv_watch_options {
  /// First report the current value of every matching key, then changes.
  /// If false only changes made after the watch started are reported.
  bool include_initial_values = true;
  /// Called once when the initial values are all reported (at once if there
  /// are none); from then on only changes come.
  std::function<void()> on_caught_up;
  /// Called if the watch stops on an error (e.g. the connection closed).
  std::function<void(const error&)> on_error;
};

/// Receives watched entries, deletes and purges included.
using kv_watch_handler = std::function<void(const kv_entry&)>;

/// A running watch over keys of a KV bucket, created by `kv_bucket::watch`.
/// Owns a thread that runs nats.c's blocking `kvWatcher_Next` loop and calls
/// the handler on it, one entry at a time, in revision order per key.
///
/// RAII: destroying it (or `stop`) stops the nats.c watcher and joins the
/// thread; a running handler finishes first. It may also be stopped from
/// inside its own handler (then nothing is joined: the thread ends when the
/// handler returns). Move-only; not thread-safe.
class kv_watcher {
public:
  kv_watcher() noexcept = default;
  kv_watcher(kv_watcher&&) noexcept = default;
  kv_watcher& operator=(kv_watcher&& other) noexcept;
  kv_watcher(const kv_watcher&) = delete;
  kv_watcher& operator=(const kv_watcher&) = delete;
  ~kv_watcher();

  bool running() const noexcept { return state_ != nullptr; }
  void stop();

  struct state;

private:
  friend class kv_bucket;
  explicit kv_watcher(std::shared_ptr<state> st) noexcept : state_(std::move(st)) {}
  std::shared_ptr<state> state_;
};

} // namespace sy::broker
