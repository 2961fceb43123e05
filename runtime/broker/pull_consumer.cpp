#include "runtime/broker/pull_consumer.hpp"

#include "runtime/broker/connection.hpp"
#include "runtime/broker/consumer_spec.hpp"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <nats/nats.h>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

namespace sy::broker {

namespace {

using clock = std::chrono::steady_clock;

/// Requests are for half a batch or more, so a window of this many batches
/// can have twice as many waiting at the server. nats-server accepts 512 per
/// consumer (`max_waiting`) and rejects the rest, and 2.9 checks the
/// interest of every waiting request whenever a consumer runs out of
/// messages: keep them few.
constexpr int max_waiting_batches = 16;

std::uint64_t trailing_number(std::string_view subject, std::string_view prefix) {
  if (subject.size() <= prefix.size() || subject.substr(0, prefix.size()) != prefix) return 0;
  std::uint64_t value = 0;
  auto tail = subject.substr(prefix.size());
  std::from_chars(tail.data(), tail.data() + tail.size(), value);
  return value;
}

} // namespace

struct pull_consumer::impl {
  struct request {
    int batch = 0;
    clock::time_point issued;
  };

  std::shared_ptr<connection> conn;
  pull_options opts;
  std::string next_subject;

  mutable std::mutex mu;
  std::condition_variable cv;
  int held = 0;
  int outstanding = 0;
  bool paused = false;
  bool stopping = false;
  bool stopped = false;
  std::uint64_t generation = 0;
  std::string inbox_prefix; // "<inbox>." of the current generation
  subscription sub;
  std::vector<subscription> retired; // draining subscriptions of older generations
  std::unordered_map<std::uint64_t, request> requests;
  std::uint64_t next_request = 0;
  clock::time_point last_activity;
  clock::time_point retry_at;
  pull_stats counters;
  std::vector<pull_status> reports; // collected under `mu`, reported after it

  std::mutex deliver_mu; // one `on_message` at a time, across generations
  std::thread watchdog;
  std::uint64_t listener = 0;

  // --- everything below with `_locked` runs under `mu` ---

  void report_locked(int code, std::string description) {
    if (opts.on_status) reports.push_back(pull_status{code, std::move(description)});
  }

  void flush_reports(std::unique_lock<std::mutex>& lk) {
    if (reports.empty()) return;
    auto pending = std::move(reports);
    reports.clear();
    lk.unlock();
    for (const auto& r : pending)
      opts.on_status(r);
    lk.lock();
  }

  void subscribe_locked() {
    inbox_prefix = conn->new_inbox() + ".";
    auto gen = ++generation;
    auto s = conn->subscribe(inbox_prefix + "*",
                             [this, gen](message m) { on_message(gen, std::move(m)); });
    if (s) {
      // The window bounds what can queue here; never drop a delivery as a
      // slow consumer (it would only come back after ack_wait).
      natsSubscription_SetPendingLimits(s->native_handle(), -1, -1);
      sub = std::move(*s);
    } else
      report_locked(0, "cannot subscribe the pull inbox: " + s.error().message);
  }

  /// Forgets all credit and moves to a fresh inbox: nothing sent to the old
  /// one can be mistaken for an answer to a new request.
  void reset_credit_locked(const std::string& why) {
    outstanding = 0;
    requests.clear();
    ++counters.credit_resets;
    if (sub.valid()) {
      sub.drain_async(opts.expires);
      retired.push_back(std::move(sub));
    }
    subscribe_locked();
    report_locked(0, why);
  }

  void maybe_request_locked(clock::time_point now) {
    if (paused || stopping || now < retry_at || !sub.valid()) return;
    int avail = opts.window - held - outstanding;
    int half_batch = std::max(1, std::min(opts.batch, opts.window) / 2);
    while (avail > 0 && (outstanding == 0 || avail >= half_batch)) {
      int n = std::min(opts.batch, avail);
      auto id = ++next_request;
      std::string body =
          "{\"batch\":" + std::to_string(n) + ",\"expires\":" + std::to_string(to_ns(opts.expires));
      if (opts.idle_heartbeat.count() > 0)
        body += ",\"idle_heartbeat\":" + std::to_string(to_ns(opts.idle_heartbeat));
      body += "}";
      auto sent = conn->publish(next_subject, body, {}, inbox_prefix + std::to_string(id));
      if (!sent) {
        retry_at = now + opts.retry_wait;
        report_locked(0, "cannot send a pull request: " + sent.error().message);
        return;
      }
      requests[id] = request{n, now};
      outstanding += n;
      avail -= n;
      last_activity = now;
      ++counters.requests;
    }
  }

  static std::int64_t to_ns(std::chrono::milliseconds d) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  }

  void on_status_locked(int code, const message& msg, clock::time_point now) {
    if (code == 100) return; // idle heartbeat: `last_activity` is all it is for
    auto description = msg.header("Description").value_or("");
    auto pending = msg.header("Nats-Pending-Messages");
    auto id = trailing_number(msg.subject(), inbox_prefix);
    if (pending) {
      // 408 Request Timeout, 408 Interest Expired, 409 Server Shutdown, ...:
      // the request ended with `pending` of its batch undelivered.
      int n = std::atoi(pending->c_str());
      outstanding -= std::clamp(n, 0, outstanding);
      requests.erase(id);
      if (code != 408) report_locked(code, description);
      return;
    }
    if (description == "Consumer Deleted" || description == "Leadership Change") {
      outstanding = 0; // every waiting request got the same status
      requests.clear();
    } else if (auto it = requests.find(id); it != requests.end()) {
      // Rejected on arrival (409 Exceeded MaxWaiting, 503 no responders,
      // 400 Bad Request, ...): nothing of its batch was delivered.
      outstanding -= std::min(it->second.batch, outstanding);
      requests.erase(it);
    }
    retry_at = now + opts.retry_wait;
    report_locked(code, description.empty() ? "pull request rejected" : description);
  }

  void on_message(std::uint64_t gen, message msg) {
    int code = msg.status();
    bool deliver = false;
    bool overflow = false;
    {
      std::unique_lock<std::mutex> lk(mu);
      auto now = clock::now();
      if (gen != generation) {
        if (code != 0) return; // a status for a request we already forgot
        // From a retired inbox: not covered by the current credit.
        deliver = held < opts.window;
      } else if (code != 0) {
        last_activity = now;
        on_status_locked(code, msg, now);
      } else {
        last_activity = now;
        outstanding -= std::min(1, outstanding);
        deliver = held < opts.window;
      }
      overflow = code == 0 && !deliver;
      if (deliver) {
        ++held;
        ++counters.delivered;
      }
      if (overflow) ++counters.overflow_naks;
      maybe_request_locked(now);
      flush_reports(lk);
    }
    if (overflow) {
      (void)msg.nak(); // if it fails the server redelivers after ack_wait anyway
      return;
    }
    if (deliver) {
      {
        std::lock_guard<std::mutex> guard(deliver_mu);
        opts.on_message(std::move(msg));
      }
      if (opts.release_on_return) release(1);
    }
  }

  void release(int n) {
    std::unique_lock<std::mutex> lk(mu);
    held -= std::clamp(n, 0, held);
    maybe_request_locked(clock::now());
    flush_reports(lk);
  }

  void watchdog_loop() {
    auto tick =
        std::clamp(std::min(opts.idle_heartbeat.count() > 0 ? opts.idle_heartbeat : opts.expires,
                            opts.retry_wait) /
                       4,
                   std::chrono::milliseconds(10), std::chrono::milliseconds(250));
    std::unique_lock<std::mutex> lk(mu);
    while (!stopping) {
      auto now = clock::now();
      if (!sub.valid()) subscribe_locked();
      if (opts.idle_heartbeat.count() > 0 && outstanding > 0 && !paused &&
          now - last_activity > 2 * opts.idle_heartbeat)
        reset_credit_locked("no message or heartbeat for " +
                            std::to_string(2 * opts.idle_heartbeat.count()) +
                            " ms: pull requests presumed lost, requesting again");
      // A request served in full gets no status: forget it once it expired.
      for (auto it = requests.begin(); it != requests.end();)
        it = now - it->second.issued > opts.expires + opts.idle_heartbeat ? requests.erase(it)
                                                                          : std::next(it);
      retired.erase(std::remove_if(retired.begin(), retired.end(),
                                   [](const subscription& s) { return s.is_complete(); }),
                    retired.end());
      maybe_request_locked(now);
      flush_reports(lk);
      cv.wait_for(lk, tick);
    }
  }

  void on_reconnected() {
    std::unique_lock<std::mutex> lk(mu);
    if (stopping) return;
    reset_credit_locked("reconnected to " + conn->connected_url() + ": pull credit reset");
    maybe_request_locked(clock::now());
    flush_reports(lk);
  }
};

expected<std::unique_ptr<pull_consumer>> pull_consumer::start(std::shared_ptr<connection> conn,
                                                              pull_options opts) {
  auto name = "consumer " + opts.consumer + " of stream " + opts.stream;
  if (!conn || !opts.on_message)
    return make_error(errc::invalid_input,
                      "pulling " + name + " needs a connection and on_message");
  if (opts.window < 1 || opts.batch < 1)
    return make_error(errc::invalid_input, "pulling " + name + ": window and batch must be >= 1");
  if (opts.window > max_waiting_batches * opts.batch)
    return make_error(errc::invalid_input,
                      "pulling " + name + ": a window of " + std::to_string(opts.window) +
                          " would need too many requests of batch " + std::to_string(opts.batch) +
                          "; at most " + std::to_string(max_waiting_batches) + " batches");
  if (opts.expires.count() <= 0)
    return make_error(errc::invalid_input, "pulling " + name + ": expires must be positive");
  if (opts.idle_heartbeat.count() < 0 || 2 * opts.idle_heartbeat > opts.expires)
    return make_error(errc::invalid_input,
                      "pulling " + name + ": idle_heartbeat must be at most half of expires");
  if (auto info = consumer_info(*conn, opts.stream, opts.consumer); !info)
    return make_error(info.error().code, "cannot pull " + name + ": " + info.error().message);

  auto p = std::make_unique<impl>();
  p->conn = conn;
  p->opts = std::move(opts);
  p->next_subject = "$JS.API.CONSUMER.MSG.NEXT." + p->opts.stream + "." + p->opts.consumer;
  p->paused = p->opts.start_paused;
  auto* raw = p.get();
  {
    std::unique_lock<std::mutex> lk(raw->mu);
    raw->subscribe_locked();
    if (!raw->sub.valid()) {
      auto why = raw->reports.empty() ? std::string("no inbox") : raw->reports.back().description;
      return make_error(errc::unavailable, "cannot pull " + name + ": " + why);
    }
    raw->maybe_request_locked(clock::now());
    raw->flush_reports(lk);
  }
  raw->listener = conn->add_reconnect_listener([raw] { raw->on_reconnected(); });
  raw->watchdog = std::thread([raw] { raw->watchdog_loop(); });
  return std::unique_ptr<pull_consumer>(new pull_consumer(std::move(p)));
}

pull_consumer::pull_consumer(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

pull_consumer::~pull_consumer() {
  (void)stop(std::chrono::seconds(5));
}

void pull_consumer::release(int n) {
  impl_->release(n);
}

void pull_consumer::pause() {
  std::lock_guard<std::mutex> guard(impl_->mu);
  impl_->paused = true;
}

void pull_consumer::resume() {
  std::unique_lock<std::mutex> lk(impl_->mu);
  impl_->paused = false;
  impl_->maybe_request_locked(clock::now());
  impl_->flush_reports(lk);
}

expected<void> pull_consumer::stop(std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  std::vector<subscription> subs;
  {
    std::lock_guard<std::mutex> guard(impl_->mu);
    if (impl_->stopped) return {};
    impl_->stopped = true;
  }
  impl_->conn->remove_reconnect_listener(impl_->listener);
  {
    std::lock_guard<std::mutex> guard(impl_->mu);
    impl_->stopping = true;
    impl_->cv.notify_all();
  }
  if (impl_->watchdog.joinable()) impl_->watchdog.join();
  // While requests can still deliver, unsubscribing would race with a
  // delivery the server already decided on: let the credit run out first.
  for (;;) {
    auto now = clock::now();
    {
      std::lock_guard<std::mutex> guard(impl_->mu);
      if (impl_->outstanding == 0 || now - impl_->last_activity >= impl_->opts.stop_quiet_period)
        break;
    }
    if (now >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  {
    std::lock_guard<std::mutex> guard(impl_->mu);
    subs = std::move(impl_->retired);
    impl_->retired.clear();
    subs.push_back(std::move(impl_->sub));
  }
  auto remaining = [&] {
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()));
  };
  expected<void> result;
  for (auto& s : subs)
    if (auto r = s.drain(remaining()); !r && result) result = r;
  if (auto r = impl_->conn->flush(remaining()); !r && result) result = r;
  return result;
}

pull_stats pull_consumer::stats() const {
  std::lock_guard<std::mutex> guard(impl_->mu);
  auto s = impl_->counters;
  s.held = impl_->held;
  s.outstanding = impl_->outstanding;
  return s;
}

} // namespace sy::broker
