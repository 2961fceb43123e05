#include "runtime/broker/nats_util.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>

// libnats 3.4 frees a message with this (src/msg.c); exported, not in nats.h.
extern "C" void natsMsg_free(void* object);
// libnats 3.4 (src/conn.c, src/conn.h); exported, not in nats.h. The buffer
// flush expects the connection's lock held: lockAndRetain takes it (and a
// reference), unlockAndRelease gives both back.
extern "C" void natsConn_lockAndRetain(natsConnection* nc);
extern "C" void natsConn_unlockAndRelease(natsConnection* nc);
extern "C" natsStatus natsConn_bufferFlush(natsConnection* nc);
extern "C" bool natsConn_isClosed(natsConnection* nc);
extern "C" bool natsConn_isReconnecting(natsConnection* nc);
extern "C" bool natsConn_isDrainingPubs(natsConnection* nc);
extern "C" natsStatus natsConn_bufferWrite(natsConnection* nc, const char* buffer, int len);
extern "C" void natsConn_retain(natsConnection* nc);
extern "C" void natsConn_release(natsConnection* nc);

namespace sy::broker::detail {

namespace {

errc errc_for_status(natsStatus s) {
  switch (s) {
  case NATS_TIMEOUT:
  case NATS_NO_SERVER:
  case NATS_CONNECTION_CLOSED:
  case NATS_CONNECTION_DISCONNECTED:
  case NATS_STALE_CONNECTION:
  case NATS_NO_RESPONDERS:
  case NATS_SLOW_CONSUMER:
  case NATS_NOT_YET_CONNECTED:
  case NATS_DRAINING:
  case NATS_IO_ERROR:
  case NATS_SSL_ERROR:
    return errc::unavailable;
  case NATS_NOT_FOUND:
    return errc::not_found;
  case NATS_INVALID_ARG:
  case NATS_INVALID_SUBJECT:
  case NATS_INVALID_TIMEOUT:
  case NATS_MAX_PAYLOAD:
  case NATS_ADDRESS_MISSING:
  case NATS_PROTOCOL_ERROR:
    return errc::invalid_input;
  case NATS_NOT_PERMITTED:
    return errc::config;
  default:
    return errc::internal;
  }
}

std::string lowercase_first(std::string text) {
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

} // namespace

errc errc_for_js_code(int code) {
  switch (code) {
  case JSStreamNotFoundErr:
  case JSConsumerNotFoundErr:
  case JSNoMessageFoundErr:
    return errc::not_found;
  case JSStreamWrongLastSequenceErr:
  case JSStreamWrongLastMsgIDErr:
  case JSStreamNameExistErr:
  case JSConsumerNameExistErr:
  case JSConsumerExistingActiveErr:
  case JSConsumerWQMultipleUnfilteredErr:
  case JSConsumerWQConsumerNotUniqueErr:
  case JSConsumerWQConsumerNotDeliverAllErr:
    return errc::conflict;
  case JSNotEnabledErr:
  case JSInsufficientResourcesErr:
  case JSStreamStoreFailedErr:
  case JSClusterNotAvailErr:
    return errc::unavailable;
  default:
    return errc::invalid_input;
  }
}

error nats_error(natsStatus s, std::string_view what, jsErrCode jerr) {
  std::string message(what);
  message += ": ";
  message += lowercase_first(natsStatus_GetText(s));
  natsStatus last = NATS_OK;
  const char* raw_detail = nats_GetLastError(&last);
  std::string_view detail = raw_detail ? raw_detail : "";
  // nats.c prefixes its detail with "(file.c:line): ".
  if (!detail.empty() && detail.front() == '(') {
    if (auto end = detail.find("): "); end != std::string_view::npos) detail.remove_prefix(end + 3);
  }
  if (!detail.empty() && last == s && detail != natsStatus_GetText(s)) {
    message += " (";
    message += detail;
    message += ")";
  }
  errc code = errc_for_status(s);
  if (jerr != 0)
    code = errc_for_js_code(jerr);
  else if (s == NATS_NO_RESPONDERS)
    message += "; is JetStream enabled (nats-server -js)?";
  return make_error(code, std::move(message));
}

void free_msg(natsMsg* msg) noexcept {
  natsMsg_free(msg); // what the collector thread would call
}

namespace {

/// A subject or reply subject the protocol line can carry as it is.
bool plain_subject(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (c <= ' ' || c == 0x7f) return false;
  return true;
}

bool plain_header(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (unsigned char c : name)
    if (c <= ' ' || c == ':' || c == 0x7f) return false;
  for (char c : value)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

void append_number(std::string& out, std::size_t n) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof(digits), n).ptr;
  out.append(digits, end);
}

} // namespace

bool can_buffer_publishes() {
  // The internals used here are those of 3.4.1 (src/conn.c, src/pub.c); a
  // write deadline (set through the environment only) is not applied.
  static const bool usable =
      nats_GetVersionNumber() == 0x030401 && !std::getenv("NATS_DEFAULT_LIB_WRITE_DEADLINE");
  return usable;
}

std::optional<natsStatus> buffer_publish(natsConnection* nc, std::string_view subject,
                                         std::string_view reply, const header_list& headers,
                                         std::string_view data) {
  if (!plain_subject(subject) || (!reply.empty() && !plain_subject(reply))) return std::nullopt;
  std::string block; // the header block, "NATS/1.0\r\n" name: value lines, an empty line
  if (!headers.empty()) {
    block = "NATS/1.0\r\n";
    for (const auto& [name, value] : headers) {
      if (!plain_header(name, value)) return std::nullopt;
      block.append(name).append(": ").append(value).append("\r\n");
    }
    block.append("\r\n");
  }
  auto total = block.size() + data.size();
  std::string out;
  out.reserve(subject.size() + reply.size() + total + 48);
  out.append(block.empty() ? "PUB " : "HPUB ").append(subject);
  if (!reply.empty()) out.append(" ").append(reply);
  if (!block.empty()) {
    out.append(" ");
    append_number(out, block.size());
  }
  out.append(" ");
  append_number(out, total);
  out.append("\r\n").append(block).append(data).append("\r\n");

  // The connection's lock is recursive: the two getters take it again. The
  // max payload is the current server's, and may change with a reconnect.
  natsConn_lockAndRetain(nc);
  std::optional<natsStatus> done;
  if (!natsConn_isClosed(nc) && !natsConn_isReconnecting(nc) && !natsConn_isDrainingPubs(nc) &&
      static_cast<std::int64_t>(total) <= natsConnection_GetMaxPayload(nc) &&
      (block.empty() || natsConnection_HasHeaderSupport(nc) == NATS_OK))
    done = natsConn_bufferWrite(nc, out.data(), static_cast<int>(out.size()));
  natsConn_unlockAndRelease(nc);
  return done;
}

void retain(natsConnection* nc) noexcept {
  natsConn_retain(nc);
}

void release(natsConnection* nc) noexcept {
  natsConn_release(nc);
}

void write_buffered(natsConnection* nc) noexcept {
  natsConn_lockAndRetain(nc);
  if (!natsConn_isClosed(nc)) (void)natsConn_bufferFlush(nc); // errors: nats.c's reader acts
  natsConn_unlockAndRelease(nc);
}

expected<msg_ptr> make_msg(std::string_view subject, std::string_view reply, std::string_view data,
                           const header_list& headers) {
  natsMsg* raw = nullptr;
  std::string subj(subject);
  std::string rep(reply);
  natsStatus s = natsMsg_Create(&raw, subj.c_str(), rep.empty() ? nullptr : rep.c_str(),
                                data.data(), static_cast<int>(data.size()));
  if (s != NATS_OK) return nats_error(s, "cannot build a message for " + subj);
  msg_ptr msg(raw);
  for (const auto& [name, value] : headers) {
    s = natsMsgHeader_Add(raw, name.c_str(), value.c_str());
    if (s != NATS_OK)
      return nats_error(s, "cannot add header '" + name + "' to a message for " + subj);
  }
  return msg;
}

jsOptions js_options(std::chrono::milliseconds timeout) {
  jsOptions o;
  jsOptions_Init(&o);
  o.Wait = to_ms(timeout);
  return o;
}

} // namespace sy::broker::detail
