#include "runtime/broker/stream_spec.hpp"

#include "runtime/broker/connection.hpp"
#include "runtime/broker/nats_util.hpp"
#include "runtime/broker/subject.hpp"
#include "runtime/core/value.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <set>
#include <string_view>

namespace sy::broker {

const char* to_string(retention_policy p) {
  switch (p) {
  case retention_policy::limits:
    return "limits";
  case retention_policy::workqueue:
    return "workqueue";
  case retention_policy::interest:
    return "interest";
  }
  return "?";
}

const char* to_string(storage_type t) {
  return t == storage_type::file ? "file" : "memory";
}

const char* to_string(discard_policy p) {
  return p == discard_policy::old_messages ? "old" : "new";
}

namespace {

using detail::nats_error;

jsRetentionPolicy to_nats(retention_policy p) {
  switch (p) {
  case retention_policy::limits:
    return js_LimitsPolicy;
  case retention_policy::workqueue:
    return js_WorkQueuePolicy;
  case retention_policy::interest:
    return js_InterestPolicy;
  }
  return js_LimitsPolicy;
}

retention_policy from_nats(jsRetentionPolicy p) {
  switch (p) {
  case js_WorkQueuePolicy:
    return retention_policy::workqueue;
  case js_InterestPolicy:
    return retention_policy::interest;
  default:
    return retention_policy::limits;
  }
}

storage_type from_nats(jsStorageType t) {
  return t == js_MemoryStorage ? storage_type::memory : storage_type::file;
}

jsStorageType to_nats(storage_type t) {
  return t == storage_type::memory ? js_MemoryStorage : js_FileStorage;
}

template <class T> T limit(T v) {
  return v <= 0 ? T(-1) : v;
}

/// The spec as a nats.c config; `subjects` keeps the C strings alive.
jsStreamConfig make_config(const stream_spec& spec, std::vector<const char*>& subjects) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  for (const auto& s : spec.subjects)
    subjects.push_back(s.c_str());
  cfg.Name = spec.name.c_str();
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  cfg.Retention = to_nats(spec.retention);
  cfg.Storage = to_nats(spec.storage);
  cfg.Replicas = spec.replicas;
  cfg.MaxAge = detail::to_ns(spec.max_age);
  cfg.Duplicates = detail::to_ns(spec.duplicate_window);
  cfg.MaxMsgsPerSubject = limit(spec.max_msgs_per_subject);
  cfg.MaxMsgs = limit(spec.max_msgs);
  cfg.MaxBytes = limit(spec.max_bytes);
  cfg.MaxMsgSize = limit(spec.max_msg_size);
  cfg.Discard = spec.discard == discard_policy::new_messages ? js_DiscardNew : js_DiscardOld;
  cfg.AllowDirect = spec.allow_direct;
  cfg.AllowRollup = spec.allow_rollup;
  cfg.DenyDelete = spec.deny_delete;
  return cfg;
}

error incompatible(const stream_spec& spec, const char* field, const char* have, const char* need) {
  return make_error(errc::conflict, "stream " + spec.name + " exists with " + field + "=" + have +
                                        ", switchyard needs " + need +
                                        "; delete it or fix the config");
}

/// Applies `spec` to a copy of the existing config. Returns true if anything
/// changed; `subjects` keeps the merged subject list alive.
bool merge_config(jsStreamConfig& cfg, const stream_spec& spec,
                  std::vector<const char*>& subjects) {
  bool changed = false;
  auto set = [&changed](auto& field, auto value) {
    if (field != value) {
      field = value;
      changed = true;
    }
  };
  if (spec.exact_subjects) {
    std::set<std::string_view> have(cfg.Subjects, cfg.Subjects + cfg.SubjectsLen);
    std::set<std::string_view> want(spec.subjects.begin(), spec.subjects.end());
    changed = have != want;
    for (const auto& wanted : spec.subjects)
      subjects.push_back(wanted.c_str());
  } else {
    for (int i = 0; i < cfg.SubjectsLen; ++i)
      subjects.push_back(cfg.Subjects[i]);
    for (const auto& wanted : spec.subjects) {
      bool covered = std::any_of(subjects.begin(), subjects.end(),
                                 [&](const char* have) { return subject_covers(have, wanted); });
      if (!covered) {
        subjects.push_back(wanted.c_str());
        changed = true;
      }
    }
  }
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  set(cfg.Replicas, static_cast<int64_t>(spec.replicas));
  set(cfg.MaxAge, detail::to_ns(spec.max_age));
  if (spec.duplicate_window.count() > 0) set(cfg.Duplicates, detail::to_ns(spec.duplicate_window));
  if (cfg.MaxAge > 0 && cfg.Duplicates > cfg.MaxAge) // JetStream requires window <= max age
    set(cfg.Duplicates, cfg.MaxAge);
  set(cfg.MaxMsgsPerSubject, limit(spec.max_msgs_per_subject));
  cfg.MaxMsgs = limit(cfg.MaxMsgs);
  set(cfg.MaxMsgs, limit(spec.max_msgs));
  cfg.MaxBytes = limit(cfg.MaxBytes);
  set(cfg.MaxBytes, limit(spec.max_bytes));
  cfg.MaxMsgSize = limit(cfg.MaxMsgSize);
  set(cfg.MaxMsgSize, limit(spec.max_msg_size));
  set(cfg.Discard, spec.discard == discard_policy::new_messages ? js_DiscardNew : js_DiscardOld);
  set(cfg.AllowDirect, spec.allow_direct);
  set(cfg.AllowRollup, spec.allow_rollup);
  if (spec.deny_delete) // JetStream cannot lift deny_delete: never try
    set(cfg.DenyDelete, true);
  return changed;
}

} // namespace

expected<ensure_outcome> ensure_stream(connection& conn, const stream_spec& spec) {
  if (spec.name.empty()) return make_error(errc::invalid_input, "a stream needs a name");
  auto opts = detail::js_options(conn.options().api_timeout);
  // Several nodes may race to create the stream: a lost race re-reads it.
  for (int attempt = 0; attempt < 3; ++attempt) {
    jsStreamInfo* raw = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&raw, conn.js_handle(), spec.name.c_str(), &opts, &jerr);
    detail::stream_info_ptr info(raw);
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
      std::vector<const char*> subjects;
      auto cfg = make_config(spec, subjects);
      jerr = static_cast<jsErrCode>(0);
      s = js_AddStream(&raw, conn.js_handle(), &cfg, &opts, &jerr);
      detail::stream_info_ptr created(raw);
      if (s == NATS_OK) return ensure_outcome::created;
      if (jerr == JSStreamNameExistErr) continue;
      return nats_error(s, "cannot create stream " + spec.name, jerr);
    }
    if (s != NATS_OK) return nats_error(s, "cannot read stream " + spec.name, jerr);

    const jsStreamConfig& have = *info->Config;
    if (auto r = from_nats(have.Retention); r != spec.retention)
      return incompatible(spec, "retention", to_string(r), to_string(spec.retention));
    if (auto t = from_nats(have.Storage); t != spec.storage)
      return incompatible(spec, "storage", to_string(t), to_string(spec.storage));
    if (have.DenyDelete && !spec.deny_delete)
      return incompatible(spec, "deny_delete", "true", "false");

    jsStreamConfig cfg = have; // shallow: strings stay owned by `info`
    std::vector<const char*> subjects;
    if (!merge_config(cfg, spec, subjects)) return ensure_outcome::unchanged;
    jerr = static_cast<jsErrCode>(0);
    s = js_UpdateStream(&raw, conn.js_handle(), &cfg, &opts, &jerr);
    detail::stream_info_ptr updated(raw);
    if (s != NATS_OK)
      return nats_error(s, "cannot update stream " + spec.name + " to the configured shape", jerr);
    return ensure_outcome::updated;
  }
  return make_error(errc::unavailable,
                    "stream " + spec.name + " keeps changing while it is being ensured");
}

expected<stream_state> stream_info(connection& conn, const std::string& stream,
                                   const std::string& subjects_filter) {
  auto opts = detail::js_options(conn.options().api_timeout);
  if (!subjects_filter.empty()) opts.Stream.Info.SubjectsFilter = subjects_filter.c_str();
  jsStreamInfo* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&raw, conn.js_handle(), stream.c_str(), &opts, &jerr);
  detail::stream_info_ptr info(raw);
  if (s != NATS_OK) return nats_error(s, "cannot read stream " + stream, jerr);
  stream_state st;
  st.messages = info->State.Msgs;
  st.bytes = info->State.Bytes;
  st.first_seq = info->State.FirstSeq;
  st.last_seq = info->State.LastSeq;
  st.num_subjects = info->State.NumSubjects;
  st.consumers = info->State.Consumers;
  st.clustered = info->Cluster != nullptr;
  if (const auto* subjects = info->State.Subjects)
    for (int i = 0; i < subjects->Count; ++i)
      st.subjects[subjects->List[i].Subject] = subjects->List[i].Msgs;
  return st;
}

expected<void> delete_stream(connection& conn, const std::string& stream) {
  auto opts = detail::js_options(conn.options().api_timeout);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_DeleteStream(conn.js_handle(), stream.c_str(), &opts, &jerr);
  if (s != NATS_OK) return nats_error(s, "cannot delete stream " + stream, jerr);
  return {};
}

expected<void> purge_stream(connection& conn, const std::string& stream,
                            const std::string& subject_filter) {
  auto opts = detail::js_options(conn.options().api_timeout);
  if (!subject_filter.empty()) opts.Stream.Purge.Subject = subject_filter.c_str();
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_PurgeStream(conn.js_handle(), stream.c_str(), &opts, &jerr);
  if (s != NATS_OK) return nats_error(s, "cannot purge stream " + stream, jerr);
  return {};
}

expected<void> purge_stream_below(connection& conn, const std::string& stream,
                                  const std::string& subject_filter, std::uint64_t seq) {
  // nats.c 3.4 leaves the sequence out of its purge request (it would purge
  // everything), so the request is written here.
  value request{{"filter", subject_filter}, {"seq", seq}};
  auto reply =
      conn.request("$JS.API.STREAM.PURGE." + stream, request.dump(), conn.options().api_timeout);
  auto what = "cannot purge stream " + stream + " below " + std::to_string(seq);
  if (!reply) return make_error(reply.error().code, what + ": " + reply.error().message);
  auto j = value::parse(reply->data(), nullptr, false);
  if (!j.is_object() || !j.value("success", false))
    return make_error(errc::unavailable, what + ": " + std::string{reply->data()});
  return {};
}

expected<std::optional<std::string>> last_message_data(connection& conn, const std::string& stream,
                                                       const std::string& subject) {
  auto opts = detail::js_options(conn.options().api_timeout);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsMsg* raw = nullptr;
  natsStatus s =
      js_GetLastMsg(&raw, conn.js_handle(), stream.c_str(), subject.c_str(), &opts, &jerr);
  detail::msg_ptr last(raw);
  if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) return std::nullopt;
  if (s != NATS_OK)
    return nats_error(s, "cannot read the last message on " + subject + " of stream " + stream,
                      jerr);
  return std::string(natsMsg_GetData(raw), natsMsg_GetDataLength(raw));
}

expected<void> delete_stream_message(connection& conn, const std::string& stream,
                                     std::uint64_t seq) {
  auto opts = detail::js_options(conn.options().api_timeout);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_DeleteMsg(conn.js_handle(), stream.c_str(), seq, &opts, &jerr);
  if (s != NATS_OK)
    return nats_error(s, "cannot delete message " + std::to_string(seq) + " of stream " + stream,
                      jerr);
  return {};
}

expected<void> request_message_delete(connection& conn, const std::string& stream,
                                      std::uint64_t seq, std::string_view reply) {
  return conn.publish("$JS.API.STREAM.MSG.DELETE." + stream,
                      value{{"seq", seq}, {"no_erase", true}}.dump(), {}, reply);
}

expected<std::optional<stored_message>> next_stored_message(connection& conn,
                                                            const std::string& stream,
                                                            const std::string& filter,
                                                            std::uint64_t from) {
  value request{{"seq", std::max<std::uint64_t>(from, 1)}, {"next_by_subj", filter}};
  auto reply =
      conn.request("$JS.API.DIRECT.GET." + stream, request.dump(), conn.options().api_timeout);
  if (!reply) return reply.error();
  auto status = reply->status();
  if (status == 404) return std::optional<stored_message>{};
  if (status != 0)
    return make_error(errc::unavailable, "reading " + filter + " from stream " + stream +
                                             " failed with status " + std::to_string(status) + " " +
                                             reply->header("Description").value_or(""));
  stored_message out;
  out.seq = std::strtoull(reply->header("Nats-Sequence").value_or("0").c_str(), nullptr, 10);
  out.subject = reply->header("Nats-Subject").value_or("");
  out.data = std::string{reply->data()};
  return std::optional<stored_message>{std::move(out)};
}

expected<stored_page> read_stored_page(connection& conn, const std::string& stream,
                                       const std::string& filter, std::uint64_t after,
                                       std::size_t limit) {
  stored_page page;
  for (auto last = after;;) {
    auto next = next_stored_message(conn, stream, filter, last + 1);
    if (!next) return next.error();
    if (!*next) return page;
    if (page.messages.size() == limit) { // there is more: the page ends here
      page.next = last;
      return page;
    }
    last = (*next)->seq;
    page.messages.push_back(std::move(**next));
  }
}

expected<std::map<std::string, std::uint64_t>>
subject_counts(connection& conn, const std::string& stream, const std::string& filter) {
  std::map<std::string, std::uint64_t> out;
  for (std::uint64_t offset = 0;;) {
    value request{{"subjects_filter", filter}, {"offset", offset}};
    auto reply =
        conn.request("$JS.API.STREAM.INFO." + stream, request.dump(), conn.options().api_timeout);
    if (!reply) return reply.error();
    auto j = value::parse(reply->data(), nullptr, false);
    if (!j.is_object()) return make_error(errc::internal, "unreadable stream info of " + stream);
    if (j.contains("error"))
      return make_error(errc::unavailable, "stream info of " + stream + ": " + j["error"].dump());
    const auto& state = j["state"];
    std::size_t got = 0;
    if (state.contains("subjects") && state["subjects"].is_object())
      for (const auto& [subject, count] : state["subjects"].items()) {
        out[subject] = count.get<std::uint64_t>();
        ++got;
      }
    auto total = j.value("total", std::uint64_t{0});
    offset += got;
    if (got == 0 || offset >= total) break;
  }
  return out;
}

expected<std::uint64_t> count_subjects(connection& conn, const std::string& stream,
                                       const std::string& filter) {
  // Asking for a page past the end makes the server count the matching
  // subjects ("total") without listing any.
  value request{{"subjects_filter", filter}, {"offset", std::numeric_limits<std::int32_t>::max()}};
  auto reply =
      conn.request("$JS.API.STREAM.INFO." + stream, request.dump(), conn.options().api_timeout);
  if (!reply) return reply.error();
  auto j = value::parse(reply->data(), nullptr, false);
  if (!j.is_object()) return make_error(errc::internal, "unreadable stream info of " + stream);
  if (j.contains("error"))
    return make_error(j["error"].value("code", 0) == 404 ? errc::not_found : errc::unavailable,
                      "stream info of " + stream + ": " + j["error"].dump());
  return j.value("total", std::uint64_t{0});
}

} // namespace sy::broker
