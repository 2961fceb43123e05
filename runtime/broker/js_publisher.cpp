#include "runtime/broker/js_publisher.hpp"

#include "runtime/broker/connection.hpp"
#include "runtime/broker/nats_util.hpp"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace sy::broker {

struct js_publisher::core {
  using clock = std::chrono::steady_clock;

  struct pending_publish {
    pub_ack_handler done;
    clock::time_point deadline;
    std::string subject;
  };
  using completion = std::pair<pub_ack_handler, expected<pub_ack>>;

  std::chrono::milliseconds ack_timeout;
  std::string prefix; // "<inbox>."

  mutable std::mutex mu;
  std::condition_variable cv;
  std::map<std::uint64_t, pending_publish> pending;
  std::deque<completion> failed; // completed by the sweeper
  std::uint64_t next_token = 0;
  bool stopping = false;
  std::thread sweeper;

  void on_reply(const message& msg) {
    auto subject = msg.subject();
    if (subject.size() <= prefix.size()) return;
    std::uint64_t token = 0;
    auto tail = subject.substr(prefix.size());
    auto [ptr, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), token);
    if (ec != std::errc{}) return;
    pending_publish entry;
    {
      std::lock_guard<std::mutex> guard(mu);
      auto it = pending.find(token);
      if (it == pending.end()) return; // a late ack: its handler already timed out
      entry = std::move(it->second);
      pending.erase(it);
    }
    entry.done(parse_pub_ack(msg, entry.subject));
  }

  void fail(std::uint64_t token, error err) {
    std::lock_guard<std::mutex> guard(mu);
    auto it = pending.find(token);
    if (it == pending.end()) return;
    failed.emplace_back(std::move(it->second.done), std::move(err));
    pending.erase(it);
    cv.notify_one();
  }

  void sweep_loop() {
    std::vector<completion> due;
    std::unique_lock<std::mutex> lk(mu);
    for (;;) {
      auto now = clock::now();
      while (!pending.empty() && (stopping || pending.begin()->second.deadline <= now)) {
        auto& p = pending.begin()->second;
        auto why = stopping
                       ? "the connection closed before the stream acked it"
                       : "no ack from the stream within " + std::to_string(ack_timeout.count()) +
                             " ms; it may or may not be stored, retry with the same msg id";
        due.emplace_back(std::move(p.done),
                         make_error(errc::unavailable, "publish to " + p.subject + ": " + why));
        pending.erase(pending.begin());
      }
      while (!failed.empty()) {
        due.push_back(std::move(failed.front()));
        failed.pop_front();
      }
      if (!due.empty()) {
        lk.unlock();
        for (auto& [done, result] : due)
          done(std::move(result));
        due.clear();
        lk.lock();
        continue;
      }
      if (stopping) return;
      auto wake = pending.empty() ? now + ack_timeout : pending.begin()->second.deadline;
      cv.wait_until(lk, wake);
    }
  }
};

expected<std::unique_ptr<js_publisher>>
js_publisher::create(connection& conn, std::chrono::milliseconds ack_timeout) {
  auto c = std::make_shared<core>();
  c->ack_timeout = ack_timeout;
  c->prefix = conn.new_inbox() + ".";
  // Owned by the connection: the subscription must not keep it alive.
  auto sub = conn.subscribe_owned(c->prefix + "*", [c](message msg) { c->on_reply(msg); });
  if (!sub) return sub.error();
  // Acks are bounded by the publishes in flight, never drop one as a slow consumer.
  natsSubscription_SetPendingLimits(sub->native_handle(), -1, -1);
  c->sweeper = std::thread([c] { c->sweep_loop(); });
  return std::unique_ptr<js_publisher>(new js_publisher(c, std::move(*sub)));
}

js_publisher::js_publisher(std::shared_ptr<core> c, subscription sub)
    : core_(std::move(c)), sub_(std::move(sub)) {}

js_publisher::~js_publisher() {
  shutdown();
}

void js_publisher::shutdown() {
  sub_.unsubscribe();
  {
    std::lock_guard<std::mutex> guard(core_->mu);
    if (core_->stopping) return;
    core_->stopping = true;
    core_->cv.notify_one();
  }
  if (core_->sweeper.get_id() == std::this_thread::get_id())
    core_->sweeper.detach(); // destroyed from a handler: the thread owns `core_`
  else if (core_->sweeper.joinable())
    core_->sweeper.join();
}

std::size_t js_publisher::pending() const {
  std::lock_guard<std::mutex> guard(core_->mu);
  return core_->pending.size();
}

void js_publisher::publish(connection& conn, const outgoing_message& msg, pub_ack_handler done) {
  std::uint64_t token = 0;
  {
    std::lock_guard<std::mutex> guard(core_->mu);
    if (core_->stopping) {
      core_->failed.emplace_back(std::move(done),
                                 make_error(errc::unavailable, "publish to " + msg.subject +
                                                                   ": the connection is closing"));
      core_->cv.notify_one();
      return;
    }
    token = ++core_->next_token;
    core_->pending.emplace(token, core::pending_publish{std::move(done),
                                                        core::clock::now() + core_->ack_timeout,
                                                        msg.subject});
  }
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof(digits), token).ptr;
  std::string reply;
  reply.reserve(core_->prefix.size() + static_cast<std::size_t>(end - digits));
  reply.append(core_->prefix).append(digits, end);

  auto sent = msg.msg_id.empty() && !msg.expected_last_subject_seq
                  ? conn.publish(msg.subject, msg.data, msg.headers, reply)
                  : conn.publish(msg.subject, msg.data, jetstream_headers(msg), reply);
  if (!sent) core_->fail(token, sent.error());
}

header_list jetstream_headers(const outgoing_message& msg) {
  header_list out = msg.headers;
  auto set = [&out](const char* name, std::string value) {
    out.erase(
        std::remove_if(out.begin(), out.end(), [name](const auto& h) { return h.first == name; }),
        out.end());
    out.emplace_back(name, std::move(value));
  };
  if (!msg.msg_id.empty()) set("Nats-Msg-Id", msg.msg_id);
  if (msg.expected_last_subject_seq)
    set("Nats-Expected-Last-Subject-Sequence", std::to_string(*msg.expected_last_subject_seq));
  return out;
}

namespace {

void skip_spaces(std::string_view& text) {
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
}

/// Drops `expected` from the front of `text` (after any spaces), if it is there.
bool take(std::string_view& text, std::string_view expected) {
  skip_spaces(text);
  if (text.substr(0, expected.size()) != expected) return false;
  text.remove_prefix(expected.size());
  return true;
}

} // namespace

std::optional<pub_ack> read_plain_pub_ack(std::string_view text) {
  if (!take(text, "{\"stream\":\"")) return std::nullopt;
  auto quote = text.find('"');
  if (quote == std::string_view::npos || quote == 0) return std::nullopt;
  auto name = text.substr(0, quote);
  if (name.find('\\') != std::string_view::npos) return std::nullopt; // escaped: not plain
  text.remove_prefix(quote + 1);
  if (!take(text, ",") || !take(text, "\"seq\":")) return std::nullopt;
  skip_spaces(text);
  pub_ack ack;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), ack.seq);
  if (err != std::errc{} || ack.seq == 0) return std::nullopt;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  if (take(text, ",")) {
    if (!take(text, "\"duplicate\":") || !take(text, "true")) return std::nullopt;
    ack.duplicate = true;
  }
  if (!take(text, "}") || !text.empty()) return std::nullopt;
  ack.stream = std::string{name};
  return ack;
}

expected<pub_ack> parse_pub_ack(const message& reply, std::string_view subject) {
  auto what = [&](std::string_view detail) {
    std::string text = "publish to ";
    text.append(subject).append(": ").append(detail);
    return text;
  };
  if (int status = reply.status(); status != 0) {
    if (status == 503)
      return make_error(errc::unavailable,
                        what("no stream captures this subject (no responders); is the stream "
                             "created and JetStream enabled?"));
    return make_error(errc::unavailable, what("unexpected status " + std::to_string(status) + " " +
                                              reply.header("Description").value_or("")));
  }
  if (auto plain = read_plain_pub_ack(reply.data())) return std::move(*plain);
  auto doc = nlohmann::json::parse(reply.data(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return make_error(errc::internal,
                      what("unreadable ack from the stream: " + std::string(reply.data())));
  if (auto err = doc.find("error"); err != doc.end() && err->is_object()) {
    int code = err->value("err_code", 0);
    return make_error(detail::errc_for_js_code(code),
                      what(err->value("description", std::string("unknown error")) +
                           " (JetStream error " + std::to_string(code) + ")"));
  }
  pub_ack ack;
  ack.stream = doc.value("stream", std::string());
  ack.seq = doc.value("seq", std::uint64_t{0});
  ack.duplicate = doc.value("duplicate", false);
  if (ack.stream.empty() || ack.seq == 0)
    return make_error(errc::internal,
                      what("unreadable ack from the stream: " + std::string(reply.data())));
  return ack;
}

} // namespace sy::broker
