#include "runtime/broker/consumer_spec.hpp"

#include "runtime/broker/connection.hpp"
#include "runtime/broker/nats_util.hpp"

#include <algorithm>

namespace sy::broker {

const char* to_string(deliver_policy p) {
  switch (p) {
  case deliver_policy::all:
    return "all";
  case deliver_policy::new_only:
    return "new";
  case deliver_policy::last_per_subject:
    return "last_per_subject";
  case deliver_policy::by_start_time:
    return "by_start_time";
  case deliver_policy::by_start_sequence:
    return "by_start_sequence";
  }
  return "?";
}

namespace {

using detail::nats_error;

jsDeliverPolicy to_nats(deliver_policy p) {
  switch (p) {
  case deliver_policy::all:
    return js_DeliverAll;
  case deliver_policy::new_only:
    return js_DeliverNew;
  case deliver_policy::last_per_subject:
    return js_DeliverLastPerSubject;
  case deliver_policy::by_start_time:
    return js_DeliverByStartTime;
  case deliver_policy::by_start_sequence:
    return js_DeliverByStartSequence;
  }
  return js_DeliverAll;
}

const char* deliver_name(jsDeliverPolicy p) {
  switch (p) {
  case js_DeliverAll:
    return "all";
  case js_DeliverNew:
    return "new";
  case js_DeliverLastPerSubject:
    return "last_per_subject";
  case js_DeliverLast:
    return "last";
  case js_DeliverByStartTime:
    return "by_start_time";
  case js_DeliverByStartSequence:
    return "by_start_sequence";
  default:
    return "?";
  }
}

const char* ack_name(jsAckPolicy p) {
  switch (p) {
  case js_AckExplicit:
    return "explicit";
  case js_AckAll:
    return "all";
  default:
    return "none";
  }
}

std::string name_of(const consumer_spec& spec) {
  return "consumer " + spec.durable + " of stream " + spec.stream;
}

error incompatible(const consumer_spec& spec, const char* field, const std::string& have,
                   const std::string& need) {
  return make_error(errc::conflict, name_of(spec) + " exists with " + field + "=" + have +
                                        ", switchyard needs " + need +
                                        "; delete the consumer or fix the config");
}

/// Values as the server stores them after applying its defaults.
struct normalized {
  std::int64_t ack_wait;
  std::int64_t max_deliver;
  std::vector<std::int64_t> backoff;

  explicit normalized(const consumer_spec& spec)
      : ack_wait(detail::to_ns(spec.ack_wait)),
        max_deliver(spec.max_deliver <= 0 ? -1 : spec.max_deliver) {
    for (auto d : spec.backoff)
      backoff.push_back(detail::to_ns(d));
    if (!backoff.empty()) ack_wait = backoff.front();
  }
};

} // namespace

expected<ensure_outcome> ensure_consumer(connection& conn, const consumer_spec& spec) {
  if (spec.stream.empty() || spec.durable.empty())
    return make_error(errc::invalid_input, "a consumer needs a stream and a durable name");
  if (spec.durable.find_first_of(".*> ") != std::string::npos)
    return make_error(errc::invalid_input, "consumer name '" + spec.durable +
                                               "' must not contain '.', '*', '>' or spaces");
  auto opts = detail::js_options(conn.options().api_timeout);
  normalized want(spec);
  for (int attempt = 0; attempt < 3; ++attempt) {
    jsConsumerInfo* raw = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetConsumerInfo(&raw, conn.js_handle(), spec.stream.c_str(),
                                      spec.durable.c_str(), &opts, &jerr);
    detail::consumer_info_ptr info(raw);
    if (jerr == JSStreamNotFoundErr)
      return make_error(errc::not_found, "cannot create " + name_of(spec) +
                                             ": the stream does not exist; ensure it first");
    if (s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr) {
      jsConsumerConfig cc;
      jsConsumerConfig_Init(&cc);
      cc.Durable = spec.durable.c_str();
      if (!spec.description.empty()) cc.Description = spec.description.c_str();
      cc.DeliverPolicy = to_nats(spec.deliver);
      if (spec.deliver == deliver_policy::by_start_time)
        cc.OptStartTime =
            std::chrono::duration_cast<std::chrono::nanoseconds>(spec.start_time.time_since_epoch())
                .count();
      if (spec.deliver == deliver_policy::by_start_sequence)
        cc.OptStartSeq = std::max<std::uint64_t>(spec.start_sequence, 1);
      cc.AckPolicy = spec.acks ? js_AckExplicit : js_AckNone;
      cc.AckWait = want.ack_wait;
      cc.MaxDeliver = want.max_deliver;
      cc.BackOff = want.backoff.empty() ? nullptr : want.backoff.data();
      cc.BackOffLen = static_cast<int>(want.backoff.size());
      if (!spec.filter_subject.empty()) cc.FilterSubject = spec.filter_subject.c_str();
      if (spec.acks) cc.MaxAckPending = spec.max_ack_pending;
      cc.InactiveThreshold = detail::to_ns(spec.inactive_threshold);
      if (spec.lightweight) {
        cc.Replicas = 1;
        cc.MemoryStorage = true;
      }
      jerr = static_cast<jsErrCode>(0);
      s = js_AddConsumer(&raw, conn.js_handle(), spec.stream.c_str(), &cc, &opts, &jerr);
      detail::consumer_info_ptr created(raw);
      if (s == NATS_OK) return ensure_outcome::created;
      if (jerr == JSConsumerNameExistErr) continue; // created concurrently: validate it
      return nats_error(s, "cannot create " + name_of(spec), jerr);
    }
    if (s != NATS_OK) return nats_error(s, "cannot read " + name_of(spec), jerr);

    const jsConsumerConfig& have = *info->Config;
    if (have.DeliverSubject && *have.DeliverSubject)
      return incompatible(spec, "deliver_subject", have.DeliverSubject, "none (a pull consumer)");
    auto want_ack = spec.acks ? js_AckExplicit : js_AckNone;
    if (have.AckPolicy != want_ack)
      return incompatible(spec, "ack_policy", ack_name(have.AckPolicy), ack_name(want_ack));
    if (have.DeliverPolicy != to_nats(spec.deliver))
      return incompatible(spec, "deliver_policy", deliver_name(have.DeliverPolicy),
                          to_string(spec.deliver));
    std::string have_filter = have.FilterSubject ? have.FilterSubject : "";
    if (have_filter != spec.filter_subject)
      return incompatible(spec, "filter_subject", "'" + have_filter + "'",
                          "'" + spec.filter_subject + "'");

    jsConsumerConfig cfg = have; // shallow: strings stay owned by `info`
    bool changed = false;
    auto set = [&changed](auto& field, auto value) {
      if (field != value) {
        field = value;
        changed = true;
      }
    };
    set(cfg.AckWait, want.ack_wait);
    set(cfg.MaxDeliver, want.max_deliver);
    if (spec.acks) set(cfg.MaxAckPending, spec.max_ack_pending);
    set(cfg.InactiveThreshold, detail::to_ns(spec.inactive_threshold));
    std::vector<std::int64_t> have_backoff(have.BackOff, have.BackOff + have.BackOffLen);
    if (have_backoff != want.backoff) {
      cfg.BackOff = want.backoff.empty() ? nullptr : want.backoff.data();
      cfg.BackOffLen = static_cast<int>(want.backoff.size());
      changed = true;
    }
    std::string have_description = have.Description ? have.Description : "";
    if (have_description != spec.description) {
      cfg.Description = spec.description.c_str();
      changed = true;
    }
    if (!changed) return ensure_outcome::unchanged;
    jerr = static_cast<jsErrCode>(0);
    s = js_UpdateConsumer(&raw, conn.js_handle(), spec.stream.c_str(), &cfg, &opts, &jerr);
    detail::consumer_info_ptr updated(raw);
    if (s != NATS_OK)
      return nats_error(s, "cannot update " + name_of(spec) + " to the configured shape", jerr);
    return ensure_outcome::updated;
  }
  return make_error(errc::unavailable, name_of(spec) + " keeps changing while it is being ensured");
}

expected<consumer_state> consumer_info(connection& conn, const std::string& stream,
                                       const std::string& durable) {
  auto opts = detail::js_options(conn.options().api_timeout);
  jsConsumerInfo* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s =
      js_GetConsumerInfo(&raw, conn.js_handle(), stream.c_str(), durable.c_str(), &opts, &jerr);
  detail::consumer_info_ptr info(raw);
  if (s != NATS_OK)
    return nats_error(s, "cannot read consumer " + durable + " of stream " + stream, jerr);
  consumer_state st;
  st.num_pending = info->NumPending;
  st.num_ack_pending = info->NumAckPending;
  st.num_redelivered = info->NumRedelivered;
  st.num_waiting = info->NumWaiting;
  st.delivered_stream_seq = info->Delivered.Stream;
  st.ack_floor_stream_seq = info->AckFloor.Stream;
  return st;
}

expected<void> delete_consumer(connection& conn, const std::string& stream,
                               const std::string& durable) {
  auto opts = detail::js_options(conn.options().api_timeout);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_DeleteConsumer(conn.js_handle(), stream.c_str(), durable.c_str(), &opts, &jerr);
  if (s != NATS_OK)
    return nats_error(s, "cannot delete consumer " + durable + " of stream " + stream, jerr);
  return {};
}

} // namespace sy::broker
