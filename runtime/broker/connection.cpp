#include "runtime/broker/connection.hpp"

#include "runtime/broker/js_publisher.hpp"
#include "runtime/broker/nats_util.hpp"
#include "runtime/broker/subscription_state.hpp"
#include "runtime/broker/write_batch.hpp"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>

namespace sy::broker {

/// What nats.c's connection callbacks need. Allocated per connection, it
/// outlives the `connection` object: nats.c posts callbacks to its own thread
/// and may run them after `natsConnection_Destroy` returned; the closed
/// callback comes last and frees this.
struct connection_events {
  connection_options opts; // callbacks and reconnect delays
  std::mutex mu;
  std::map<std::uint64_t, std::function<void()>> listeners;
  std::uint64_t next_listener = 0;
  std::string last_url;
  std::minstd_rand rng{std::random_device{}()}; // only the reconnect thread uses it

  static connection_events& from(void* closure) {
    return *static_cast<connection_events*>(closure);
  }

  static std::string url_of(natsConnection* nc) {
    char buf[256] = {};
    if (natsConnection_GetConnectedUrl(nc, buf, sizeof(buf)) != NATS_OK) return {};
    return buf;
  }

  static void on_disconnected(natsConnection*, void* closure) {
    auto& ev = from(closure);
    std::string url;
    {
      std::lock_guard<std::mutex> guard(ev.mu);
      url = ev.last_url;
    }
    if (ev.opts.on_disconnected) ev.opts.on_disconnected(url);
  }

  static void on_reconnected(natsConnection* nc, void* closure) {
    auto& ev = from(closure);
    auto url = url_of(nc);
    if (ev.opts.on_reconnected) ev.opts.on_reconnected(url);
    std::lock_guard<std::mutex> guard(ev.mu);
    ev.last_url = url;
    for (auto& [id, fn] : ev.listeners)
      fn();
  }

  static void on_closed(natsConnection*, void* closure) {
    auto* ev = static_cast<connection_events*>(closure);
    if (ev->opts.on_closed) ev->opts.on_closed();
    delete ev;
  }

  static void on_error(natsConnection*, natsSubscription* sub, natsStatus err, void* closure) {
    auto& ev = from(closure);
    if (!ev.opts.on_error) return;
    std::string what = natsStatus_GetText(err);
    if (sub) {
      const char* subject = natsSubscription_GetSubject(sub);
      what += " on subscription ";
      what += subject ? subject : "?";
    }
    ev.opts.on_error(what);
  }

  static int64_t reconnect_delay(natsConnection*, int attempts, void* closure) {
    auto& ev = from(closure);
    auto shift = std::clamp(attempts - 1, 0, 16);
    std::chrono::milliseconds delay = std::min<std::chrono::milliseconds>(
        ev.opts.reconnect_wait * (1 << shift), ev.opts.max_reconnect_wait);
    auto jitter = ev.opts.reconnect_jitter.count();
    if (jitter > 0)
      delay += std::chrono::milliseconds(static_cast<std::int64_t>(ev.rng() % (jitter + 1)));
    return delay.count();
  }
};

namespace {

std::string join_urls(const std::vector<std::string>& urls) {
  std::string out;
  for (const auto& url : urls)
    out += (out.empty() ? "" : ", ") + url;
  return out;
}

struct options_deleter {
  void operator()(natsOptions* o) const noexcept { natsOptions_Destroy(o); }
};

} // namespace

connection::connection(connection_options opts) : opts_(std::move(opts)) {}

expected<std::shared_ptr<connection>> connection::connect(const connection_options& opts) {
  if (opts.urls.empty()) return make_error(errc::invalid_input, "no NATS URL configured");
  // nats.c spins on its locks by default, burning CPU on our 2-core
  // machines that the actors and nats-server need; 0 blocks at once.
  static std::once_flag library_opened;
  std::call_once(library_opened, [] { (void)nats_Open(0); });
  natsOptions* raw_opts = nullptr;
  if (natsStatus s = natsOptions_Create(&raw_opts); s != NATS_OK)
    return detail::nats_error(s, "cannot create NATS options");
  std::unique_ptr<natsOptions, options_deleter> o(raw_opts);

  auto* events = new connection_events{};
  events->opts = opts;
  std::vector<const char*> urls;
  for (const auto& url : opts.urls)
    urls.push_back(url.c_str());

  natsStatus s = natsOptions_SetServers(o.get(), urls.data(), static_cast<int>(urls.size()));
  if (s == NATS_OK && !opts.name.empty()) s = natsOptions_SetName(o.get(), opts.name.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(o.get(), detail::to_ms(opts.connect_timeout));
  if (s == NATS_OK) s = natsOptions_SetSendAsap(o.get(), opts.send_asap);
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(o.get(), true);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(o.get(), opts.max_reconnect);
  if (s == NATS_OK)
    s = natsOptions_SetCustomReconnectDelay(o.get(), &connection_events::reconnect_delay, events);
  if (s == NATS_OK)
    s = natsOptions_SetRetryOnFailedConnect(o.get(), opts.retry_on_failed_connect, nullptr,
                                            nullptr);
  if (s == NATS_OK) s = natsOptions_SetPingInterval(o.get(), detail::to_ms(opts.ping_interval));
  if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(o.get(), opts.reconnect_buffer_bytes);
  if (s == NATS_OK)
    s = natsOptions_SetDisconnectedCB(o.get(), &connection_events::on_disconnected, events);
  if (s == NATS_OK)
    s = natsOptions_SetReconnectedCB(o.get(), &connection_events::on_reconnected, events);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(o.get(), &connection_events::on_closed, events);
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(o.get(), &connection_events::on_error, events);
  if (s != NATS_OK) {
    delete events;
    return detail::nats_error(s, "invalid NATS connection options for " + join_urls(opts.urls));
  }

  std::shared_ptr<connection> conn(new connection(opts));
  s = natsConnection_Connect(&conn->nc_, o.get());
  if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
    conn->nc_ = nullptr;
    delete events; // no connection, so no closed callback will free it
    auto err = detail::nats_error(s, "cannot reach NATS at " + join_urls(opts.urls));
    if (err.code == errc::invalid_input)
      return detail::nats_error(s, "invalid NATS URL in " + join_urls(opts.urls));
    err.message += "; is nats-server running?";
    return err;
  }
  conn->events_ = events;
  {
    std::lock_guard<std::mutex> guard(events->mu);
    events->last_url = connection_events::url_of(conn->nc_);
  }
  auto jso = detail::js_options(opts.api_timeout);
  if (s = natsConnection_JetStream(&conn->js_, conn->nc_, &jso); s != NATS_OK)
    return detail::nats_error(s, "cannot create a JetStream context");
  auto pub = js_publisher::create(*conn, opts.publish_ack_timeout);
  if (!pub) return pub.error();
  conn->publisher_ = std::move(*pub);
  return conn;
}

connection::~connection() {
  // Order: our subscriptions (the publisher's), then the JetStream context,
  // then the connection itself (flush, close, join nats.c's threads).
  if (publisher_) publisher_->shutdown();
  publisher_.reset();
  jsCtx_Destroy(js_);
  natsConnection_Destroy(nc_);
}

expected<message> connection::request(std::string_view subject, std::string_view data,
                                      std::chrono::milliseconds timeout) {
  std::string subj(subject);
  natsMsg* reply = nullptr;
  natsStatus s = natsConnection_Request(&reply, nc_, subj.c_str(), data.data(),
                                        static_cast<int>(data.size()), detail::to_ms(timeout));
  if (s == NATS_TIMEOUT)
    return make_error(errc::unavailable, "request to " + subj + ": no reply within " +
                                             std::to_string(timeout.count()) + " ms");
  if (s == NATS_NO_RESPONDERS)
    return make_error(errc::unavailable, "request to " + subj + ": no responders");
  if (s != NATS_OK) return detail::nats_error(s, "request to " + subj);
  return message(reply, shared_from_this());
}

expected<subscription> connection::subscribe(const std::string& subject, message_handler handler) {
  return make_subscription(subject, std::move(handler), true);
}

expected<subscription> connection::subscribe_owned(const std::string& subject,
                                                   message_handler handler) {
  return make_subscription(subject, std::move(handler), false);
}

expected<subscription> connection::make_subscription(const std::string& subject,
                                                     message_handler handler, bool keep_alive) {
  auto st = std::make_shared<subscription::state>();
  st->conn = weak_from_this();
  st->handler = std::move(handler);
  auto* closure = new std::shared_ptr<subscription::state>(st);
  natsSubscription* sub = nullptr;
  natsStatus s = natsConnection_Subscribe(&sub, nc_, subject.c_str(),
                                          &subscription::state::on_message, closure);
  if (s != NATS_OK) {
    delete closure;
    return detail::nats_error(s, "subscribe to " + subject);
  }
  s = natsSubscription_SetOnCompleteCB(sub, &subscription::state::on_complete, closure);
  if (s != NATS_OK) {
    // Closed under our feet (the connection closed): the delivery thread may
    // still hold `closure`, so it is leaked rather than freed too early.
    natsSubscription_Destroy(sub);
    return detail::nats_error(s, "subscribe to " + subject);
  }
  return subscription(sub, std::move(st), keep_alive ? shared_from_this() : nullptr);
}

expected<void> connection::flush(std::chrono::milliseconds timeout) {
  natsStatus s = natsConnection_FlushTimeout(nc_, detail::to_ms(timeout));
  if (s == NATS_TIMEOUT)
    return make_error(errc::unavailable, "flush: the server did not answer within " +
                                             std::to_string(timeout.count()) + " ms");
  if (s != NATS_OK) return detail::nats_error(s, "flush");
  return {};
}

std::string connection::new_inbox() const {
  natsInbox* inbox = nullptr;
  if (natsInbox_Create(&inbox) != NATS_OK)
    return "_INBOX.sy" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
  std::string out(inbox);
  natsInbox_Destroy(inbox);
  return out;
}

std::string connection::connected_url() const {
  return connection_events::url_of(nc_);
}

bool connection::is_connected() const {
  return natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED;
}

void connection::js_publish_async(const outgoing_message& msg, pub_ack_handler done) {
  publisher_->publish(*this, msg, std::move(done));
}

expected<pub_ack> connection::js_publish(const outgoing_message& msg,
                                         std::chrono::milliseconds timeout) {
  auto out = detail::make_msg(msg.subject, {}, msg.data, jetstream_headers(msg));
  if (!out) return out.error();
  natsMsg* reply = nullptr;
  natsStatus s = natsConnection_RequestMsg(&reply, nc_, out->get(), detail::to_ms(timeout));
  if (s == NATS_NO_RESPONDERS)
    return make_error(errc::unavailable,
                      "publish to " + msg.subject +
                          ": no stream captures this subject (no responders); is the stream "
                          "created and JetStream enabled?");
  if (s == NATS_TIMEOUT)
    return make_error(errc::unavailable, "publish to " + msg.subject + ": no ack within " +
                                             std::to_string(timeout.count()) + " ms");
  if (s != NATS_OK) return detail::nats_error(s, "publish to " + msg.subject);
  return parse_pub_ack(message(reply, shared_from_this()), msg.subject);
}

std::size_t connection::pending_publishes() const {
  return publisher_->pending();
}

int connection::buffered_bytes() const {
  return natsConnection_Buffered(nc_);
}

std::uint64_t connection::add_reconnect_listener(std::function<void()> fn) {
  std::lock_guard<std::mutex> guard(events_->mu);
  auto id = ++events_->next_listener;
  events_->listeners.emplace(id, std::move(fn));
  return id;
}

void connection::remove_reconnect_listener(std::uint64_t id) {
  std::lock_guard<std::mutex> guard(events_->mu);
  events_->listeners.erase(id);
}

namespace {

using held_list = std::vector<natsConnection*>; ///< each retained once by the list

void add_once(held_list& list, natsConnection* nc) {
  if (std::find(list.begin(), list.end(), nc) != list.end()) return;
  detail::retain(nc); // a connection closed meanwhile is skipped, not freed under us
  list.push_back(nc);
}

void write_out(const held_list& list) {
  for (auto* nc : list) {
    detail::write_buffered(nc);
    detail::release(nc);
  }
}

/// This thread's open write batches and the connections they buffered
/// publishes on.
struct thread_batch {
  int depth = 0;
  int held_over = 0; ///< batches in a row that ended with `more_coming`
  std::chrono::steady_clock::time_point held_since; ///< when `held` got its first
  held_list held;

  ~thread_batch() { write_out(held); } // a thread that ends holding
};

thread_local thread_batch this_thread_batch;

/// What batches in a row may hold over: at most this many, for at most this
/// long (nats.c's own flusher waits 1 ms).
constexpr int max_held_over = 16;
constexpr auto max_hold = std::chrono::microseconds{500};

/// Writes what an actor's batches held over, should the batch expected
/// next on their thread not come (its message dropped, the actor gone): a
/// thread that wakes at most once per `delay`, and only while an actor
/// holds writes over, so never on an idle pipeline.
class held_over_writer {
public:
  static held_over_writer& instance() {
    static auto* writer = new held_over_writer; // never destroyed: its thread runs to exit
    return *writer;
  }

  void watch(const held_list& held) {
    std::lock_guard<std::mutex> guard{mu_};
    for (auto* nc : held)
      add_once(watched_, nc);
    if (!armed_) {
      armed_ = true;
      cv_.notify_one();
    }
  }

private:
  static constexpr auto delay = std::chrono::milliseconds{1};

  held_over_writer() {
    std::thread([this] { run(); }).detach();
  }

  void run() {
    std::unique_lock<std::mutex> lock{mu_};
    for (;;) {
      cv_.wait(lock, [this] { return armed_; });
      lock.unlock();
      std::this_thread::sleep_for(delay);
      lock.lock();
      auto due = std::move(watched_);
      watched_.clear();
      armed_ = false;
      lock.unlock();
      write_out(due);
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false;
  held_list watched_;
};

void write_held(thread_batch& batch) {
  batch.held_over = 0;
  auto held = std::move(batch.held);
  batch.held.clear();
  write_out(held);
}

} // namespace

expected<void> connection::publish(std::string_view subject, std::string_view data,
                                   const header_list& headers, std::string_view reply) {
  auto& batch = this_thread_batch;
  if (opts_.send_asap && batch.depth > 0 && detail::can_buffer_publishes()) {
    if (auto buffered = detail::buffer_publish(nc_, subject, reply, headers, data)) {
      if (*buffered != NATS_OK)
        return detail::nats_error(*buffered, "publish to " + std::string(subject));
      if (batch.held.empty()) batch.held_since = std::chrono::steady_clock::now();
      add_once(batch.held, nc_);
      return {};
    }
  }
  natsStatus s = NATS_OK;
  if (headers.empty()) {
    std::string subj(subject);
    if (reply.empty()) {
      s = natsConnection_Publish(nc_, subj.c_str(), data.data(), static_cast<int>(data.size()));
    } else {
      std::string rep(reply);
      s = natsConnection_PublishRequest(nc_, subj.c_str(), rep.c_str(), data.data(),
                                        static_cast<int>(data.size()));
    }
  } else {
    auto msg = detail::make_msg(subject, reply, data, headers);
    if (!msg) return msg.error();
    s = natsConnection_PublishMsg(nc_, msg->get());
  }
  if (s != NATS_OK) return detail::nats_error(s, "publish to " + std::string(subject));
  return {};
}

write_batch::write_batch() noexcept {
  ++this_thread_batch.depth;
}

write_batch::~write_batch() {
  if (open_) end();
}

void write_batch::end(bool more_coming, bool next_is_certain) {
  if (!open_) return;
  open_ = false;
  auto& batch = this_thread_batch;
  if (--batch.depth > 0 || batch.held.empty()) return;
  if (more_coming && ++batch.held_over < max_held_over &&
      std::chrono::steady_clock::now() - batch.held_since < max_hold) {
    if (!next_is_certain) held_over_writer::instance().watch(batch.held);
    return;
  }
  write_held(batch);
}

} // namespace sy::broker
