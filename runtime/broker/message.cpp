#include "runtime/broker/message.hpp"

#include "runtime/broker/connection.hpp"
#include "runtime/broker/nats_util.hpp"

#include <charconv>
#include <cstdlib>
#include <vector>

namespace sy::broker {

namespace {

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  std::uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::string_view> split_tokens(std::string_view subject) {
  std::vector<std::string_view> tokens;
  std::size_t start = 0;
  for (;;) {
    auto dot = subject.find('.', start);
    tokens.push_back(subject.substr(start, dot - start));
    if (dot == std::string_view::npos) return tokens;
    start = dot + 1;
  }
}

} // namespace

std::optional<js_metadata> parse_ack_subject(std::string_view reply) {
  auto tokens = split_tokens(reply);
  if (tokens.size() < 9 || tokens[0] != "$JS" || tokens[1] != "ACK") return std::nullopt;
  // v1: $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>
  // v2:
  // $JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>.<rand>
  std::size_t base = 2;
  if (tokens.size() >= 12)
    base = 4;
  else if (tokens.size() != 9)
    return std::nullopt;
  auto delivered = parse_u64(tokens[base + 2]);
  auto sseq = parse_u64(tokens[base + 3]);
  auto cseq = parse_u64(tokens[base + 4]);
  auto ts = parse_u64(tokens[base + 5]);
  auto pending = parse_u64(tokens[base + 6]);
  if (!delivered || !sseq || !cseq || !ts || !pending) return std::nullopt;
  js_metadata md;
  md.stream = std::string(tokens[base]);
  md.consumer = std::string(tokens[base + 1]);
  md.num_delivered = *delivered;
  md.stream_seq = *sseq;
  md.consumer_seq = *cseq;
  md.timestamp = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(static_cast<std::int64_t>(*ts))));
  md.num_pending = *pending;
  return md;
}

message::message(natsMsg* msg, std::shared_ptr<connection> conn) noexcept
    : msg_(msg), conn_(std::move(conn)) {}

message::message(message&& other) noexcept
    : msg_(std::exchange(other.msg_, nullptr)), conn_(std::move(other.conn_)) {}

message& message::operator=(message&& other) noexcept {
  if (this != &other) {
    detail::free_msg(msg_);
    msg_ = std::exchange(other.msg_, nullptr);
    conn_ = std::move(other.conn_);
  }
  return *this;
}

message::~message() {
  detail::free_msg(msg_);
}

std::string_view message::subject() const {
  if (!msg_) return {};
  const char* s = natsMsg_GetSubject(msg_);
  return s ? std::string_view(s) : std::string_view();
}

std::string_view message::data() const {
  if (!msg_) return {};
  const char* d = natsMsg_GetData(msg_);
  return d ? std::string_view(d, static_cast<std::size_t>(natsMsg_GetDataLength(msg_)))
           : std::string_view();
}

std::string_view message::reply() const {
  if (!msg_) return {};
  const char* r = natsMsg_GetReply(msg_);
  return r ? std::string_view(r) : std::string_view();
}

std::optional<std::string> message::header(const char* name) const {
  const char* value = nullptr;
  if (!msg_ || natsMsgHeader_Get(msg_, name, &value) != NATS_OK || !value) return std::nullopt;
  return std::string(value);
}

header_list message::headers() const {
  header_list out;
  const char** keys = nullptr;
  int count = 0;
  if (!msg_ || natsMsgHeader_Keys(msg_, &keys, &count) != NATS_OK) return out;
  for (int i = 0; i < count; ++i) {
    const char** values = nullptr;
    int n = 0;
    if (natsMsgHeader_Values(msg_, keys[i], &values, &n) == NATS_OK) {
      for (int j = 0; j < n; ++j)
        out.emplace_back(keys[i], values[j]);
      free(static_cast<void*>(values));
    }
  }
  free(static_cast<void*>(keys));
  return out;
}

int message::status() const {
  if (!msg_ || natsMsg_GetDataLength(msg_) != 0 || !reply().empty()) return 0;
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg_, "Status", &value) != NATS_OK || !value) return 0;
  return std::atoi(value);
}

std::optional<js_metadata> message::metadata() const {
  return parse_ack_subject(reply());
}

expected<void> message::send_ack(std::string_view body) {
  if (!msg_ || !conn_)
    return make_error(errc::invalid_input, "cannot acknowledge an empty message");
  auto rep = reply();
  if (rep.empty())
    return make_error(errc::invalid_input, "cannot acknowledge a message from " +
                                               std::string(subject()) +
                                               ": it has no reply subject");
  return conn_->publish(rep, body);
}

expected<void> message::ack() {
  return send_ack("+ACK");
}

expected<void> message::nak(std::chrono::nanoseconds delay) {
  if (delay.count() <= 0) return send_ack("-NAK");
  return send_ack("-NAK {\"delay\": " + std::to_string(delay.count()) + "}");
}

expected<void> message::in_progress() {
  return send_ack("+WPI");
}

expected<void> message::term() {
  return send_ack("+TERM");
}

expected<void> message::ack_sync(std::chrono::milliseconds timeout) {
  if (!msg_ || !conn_ || reply().empty())
    return make_error(errc::invalid_input, "cannot acknowledge a message without reply subject");
  auto confirmed = conn_->request(reply(), "+ACK", timeout);
  if (!confirmed)
    return make_error(confirmed.error().code, "ack of " + std::string(subject()) +
                                                  " not confirmed: " + confirmed.error().message);
  return {};
}

} // namespace sy::broker
