#pragma once

// Internal to runtime/broker: helpers shared by the .cpp files that talk to
// nats.c. Not installed, not included by any public broker header.

#include "runtime/broker/header_list.hpp"
#include "runtime/core/expected.hpp"

#include <chrono>
#include <memory>
#include <nats/nats.h>
#include <optional>
#include <string>
#include <string_view>

namespace sy::broker::detail {

/// Turns a failed nats.c call into an error: "<what>: <nats.c text> (<last
/// error detail>)". `jerr` is the JetStream API error code when known.
error nats_error(natsStatus s, std::string_view what, jsErrCode jerr = static_cast<jsErrCode>(0));

/// Maps a JetStream API error code to an errc.
errc errc_for_js_code(int code);

/// RAII owner of a nats.c object with a matching destroy function.
template <class T, void (*Destroy)(T*)> struct nats_deleter {
  void operator()(T* p) const noexcept {
    if (p) Destroy(p);
  }
};

/// Frees a message on the calling thread. `natsMsg_Destroy` hands every
/// message to nats.c's garbage-collector thread instead and, whenever that
/// thread is idle, wakes it: one more thread wake-up per message received or
/// built, which on an idle pipeline lies on every hop (docs/BENCHMARKS.md,
/// "nats.c's garbage-collector thread"). For a message we own (received
/// through a subscription, built by us) both end in the same free.
void free_msg(natsMsg* msg) noexcept;

/// Whether `buffer_publish` and `write_buffered` may be used: they call
/// libnats 3.4.1's internal functions (exported, not in nats.h), so only
/// with that version, and not when a write deadline is configured through
/// the environment (NATS_DEFAULT_LIB_WRITE_DEADLINE; they do not apply it).
bool can_buffer_publishes();

/// Appends a publish to nats.c's write buffer of `nc` without writing it to
/// the socket (`write_buffered` does), in the protocol nats.c's own publish
/// writes: `PUB`, or `HPUB` with headers. For a `write_batch`
/// (runtime/broker/write_batch.hpp): nats.c's publish writes at once with
/// `SendAsap`, and without it wakes its flusher thread. `std::nullopt`, with
/// nothing done, when nats.c must publish it itself, so that the caller
/// gets nats.c's answer: the connection is closed, reconnecting or
/// draining; the message exceeds the current server's max payload; it has
/// headers and the server takes none; or a subject or header is not plain
/// (whitespace in a subject, a line break or NUL in a header).
std::optional<natsStatus> buffer_publish(natsConnection* nc, std::string_view subject,
                                         std::string_view reply, const header_list& headers,
                                         std::string_view data);

/// Writes what nats.c buffered for `nc` to its socket now; nothing once it is
/// closed or when nothing is buffered. Write errors are nats.c's to act on
/// (its reader notices the broken connection).
void write_buffered(natsConnection* nc) noexcept;

/// Keeps a `natsConnection` allocated (not open) until `release`.
void retain(natsConnection* nc) noexcept;
void release(natsConnection* nc) noexcept;

using msg_ptr = std::unique_ptr<natsMsg, nats_deleter<natsMsg, free_msg>>;
using stream_info_ptr =
    std::unique_ptr<jsStreamInfo, nats_deleter<jsStreamInfo, jsStreamInfo_Destroy>>;
using consumer_info_ptr =
    std::unique_ptr<jsConsumerInfo, nats_deleter<jsConsumerInfo, jsConsumerInfo_Destroy>>;
using kv_entry_ptr = std::unique_ptr<kvEntry, nats_deleter<kvEntry, kvEntry_Destroy>>;

/// Builds a message with headers; `reply` may be empty.
expected<msg_ptr> make_msg(std::string_view subject, std::string_view reply, std::string_view data,
                           const header_list& headers);

/// `jsOptions` with the connection's API timeout.
jsOptions js_options(std::chrono::milliseconds timeout);

inline std::int64_t to_ns(std::chrono::nanoseconds d) {
  return d.count();
}
inline std::int64_t to_ms(std::chrono::milliseconds d) {
  return d.count();
}

} // namespace sy::broker::detail
