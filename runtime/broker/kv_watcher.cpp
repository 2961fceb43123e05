#include "runtime/broker/kv_watcher.hpp"

#include "runtime/broker/connection.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "runtime/broker/kv_entry_convert.hpp"
#include "runtime/broker/nats_util.hpp"

#include <thread>

namespace sy::broker {

/// Shared by the `kv_watcher` handle and its thread; the last owner
/// destroys the nats.c watcher.
struct kv_watcher::state {
  std::shared_ptr<connection> conn; // keeps the connection alive
  std::string what;                 // "watch of '<pattern>' in bucket <name>"
  kvWatcher* watcher = nullptr;
  kv_watch_handler handler;
  kv_watch_options opts;
  std::thread thread;

  ~state() { kvWatcher_Destroy(watcher); }

  void run() {
    bool caught_up = false;
    for (;;) {
      kvEntry* raw = nullptr;
      natsStatus s = kvWatcher_Next(&raw, watcher, 60 * 60 * 1000);
      if (s == NATS_TIMEOUT) continue;
      if (s == NATS_ILLEGAL_STATE) return; // stopped
      if (s != NATS_OK) {
        if (opts.on_error) opts.on_error(detail::nats_error(s, what + " stopped"));
        return;
      }
      if (!raw) { // initial values done
        caught_up = true;
        if (opts.on_caught_up) opts.on_caught_up();
        continue;
      }
      detail::kv_entry_ptr e(raw);
      if (caught_up || opts.include_initial_values) handler(detail::to_kv_entry(raw));
    }
  }
};

kv_watcher& kv_watcher::operator=(kv_watcher&& other) noexcept {
  if (this != &other) {
    stop();
    state_ = std::move(other.state_);
  }
  return *this;
}

kv_watcher::~kv_watcher() {
  stop();
}

void kv_watcher::stop() {
  if (!state_) return;
  kvWatcher_Stop(state_->watcher);
  if (state_->thread.get_id() == std::this_thread::get_id())
    state_->thread.detach(); // stopped from the handler: the thread owns `state_`
  else if (state_->thread.joinable())
    state_->thread.join();
  state_.reset();
}

expected<kv_watcher> kv_bucket::watch(std::string_view pattern, kv_watch_handler handler,
                                      kv_watch_options opts) const {
  std::string pat(pattern);
  auto st = std::make_shared<kv_watcher::state>();
  st->conn = conn_;
  st->what = "watch of '" + pat + "' in KV bucket " + name_;
  st->handler = std::move(handler);
  st->opts = std::move(opts);
  kvWatchOptions o;
  kvWatchOptions_Init(&o);
  natsStatus s = kvStore_Watch(&st->watcher, kv_, pat.c_str(), &o);
  if (s != NATS_OK) return detail::nats_error(s, "cannot start the " + st->what);
  st->thread = std::thread([st] { st->run(); });
  return kv_watcher(st);
}

} // namespace sy::broker
