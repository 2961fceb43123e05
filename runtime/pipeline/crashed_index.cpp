#include "runtime/pipeline/crashed_index.hpp"

#include "runtime/broker/stream_spec.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/task/codec.hpp"

#include <functional>

namespace sy::pipeline {

namespace {

using namespace std::chrono_literals;

/// `sy.crashed.<identity token>.*`: every entry of one identity.
std::string identity_filter(std::string_view identity) {
  return "sy.crashed." + receiver_token(identity) + ".*";
}

broker::outgoing_message index_message(const task& t) {
  return {crashed_subject(t.receiver, t.uid), encode(t), {}, {}, {}};
}

} // namespace

std::string crashed_uid_filter(std::string_view uid) {
  return "sy.crashed.*." + std::string{uid};
}

std::string crashed_subject(std::string_view receiver, std::string_view uid) {
  return "sy.crashed." + receiver_token(receiver) + "." + std::string{uid};
}

void index_crashed_async(broker::connection& conn, const task& t,
                         std::function<void(expected<void>)> done) {
  conn.js_publish_async(index_message(t), [done = std::move(done)](expected<broker::pub_ack> ack) {
    if (!ack) return done(ack.error());
    done({});
  });
}

expected<void> index_crashed(broker::connection& conn, const task& t) {
  auto ack = conn.js_publish(index_message(t), conn.options().api_timeout);
  if (!ack) return ack.error();
  return {};
}

expected<void> unindex_crashed(broker::connection& conn, std::string_view uid) {
  // One message per subject and no consumers on this stream, so a purge by
  // subject is exact and moves nobody's position.
  return broker::purge_stream(conn, crashed_stream, crashed_uid_filter(uid));
}

expected<std::uint64_t> count_crashed(broker::connection& conn, std::string_view identity) {
  return broker::count_subjects(conn, crashed_stream, identity_filter(identity));
}

expected<crashed_page> read_crashed(broker::connection& conn, std::string_view identity,
                                    std::uint64_t after, std::size_t limit) {
  auto read =
      broker::read_stored_page(conn, crashed_stream, identity_filter(identity), after, limit);
  if (!read) return read.error();
  crashed_page page;
  page.next = read->next;
  for (auto& m : read->messages)
    if (auto t = decode_task(m.data)) page.entries.push_back({m.seq, std::move(*t)});
  return page;
}

} // namespace sy::pipeline
