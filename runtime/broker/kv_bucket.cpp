#include "runtime/broker/kv_bucket.hpp"

#include "runtime/broker/connection.hpp"
#include "runtime/broker/kv_entry_convert.hpp"
#include "runtime/broker/nats_util.hpp"

namespace sy::broker {

namespace {

using detail::nats_error;

struct watcher_deleter {
  void operator()(kvWatcher* w) const noexcept { kvWatcher_Destroy(w); }
};

std::string stream_of(const std::string& bucket) {
  return "KV_" + bucket;
}

/// Current entries matching `pattern` (deletes skipped), via a watcher that
/// stops at nats.c's "initial values done" marker.
expected<std::vector<kv_entry>> collect(kvStore* kv, const std::string& bucket,
                                        std::string_view pattern, bool meta_only,
                                        std::chrono::milliseconds timeout) {
  std::string pat(pattern);
  kvWatchOptions o;
  kvWatchOptions_Init(&o);
  o.IgnoreDeletes = true;
  o.MetaOnly = meta_only;
  kvWatcher* raw = nullptr;
  natsStatus s = kvStore_Watch(&raw, kv, pat.c_str(), &o);
  if (s != NATS_OK) return nats_error(s, "cannot list '" + pat + "' in bucket " + bucket);
  std::unique_ptr<kvWatcher, watcher_deleter> w(raw);
  std::vector<kv_entry> out;
  for (;;) {
    kvEntry* e = nullptr;
    s = kvWatcher_Next(&e, w.get(), detail::to_ms(timeout));
    if (s != NATS_OK) return nats_error(s, "cannot list '" + pat + "' in bucket " + bucket);
    if (!e) return out; // initial values done
    detail::kv_entry_ptr owned(e);
    out.push_back(detail::to_kv_entry(e));
  }
}

} // namespace

const char* to_string(kv_operation op) {
  switch (op) {
  case kv_operation::put:
    return "put";
  case kv_operation::erase:
    return "delete";
  case kv_operation::purge:
    return "purge";
  }
  return "?";
}

kv_bucket::kv_bucket(std::shared_ptr<connection> conn, std::string name, kvStore* kv) noexcept
    : conn_(std::move(conn)), name_(std::move(name)), prefix_("$KV." + name_ + "."), kv_(kv) {}

kv_bucket::kv_bucket(kv_bucket&& other) noexcept
    : conn_(std::move(other.conn_)), name_(std::move(other.name_)),
      prefix_(std::move(other.prefix_)), kv_(std::exchange(other.kv_, nullptr)) {}

kv_bucket& kv_bucket::operator=(kv_bucket&& other) noexcept {
  if (this != &other) {
    kvStore_Destroy(kv_);
    conn_ = std::move(other.conn_);
    name_ = std::move(other.name_);
    prefix_ = std::move(other.prefix_);
    kv_ = std::exchange(other.kv_, nullptr);
  }
  return *this;
}

kv_bucket::~kv_bucket() {
  kvStore_Destroy(kv_);
}

expected<kv_bucket> kv_bucket::open(std::shared_ptr<connection> conn, const std::string& name) {
  kvStore* kv = nullptr;
  natsStatus s = js_KeyValue(&kv, conn->js_handle(), name.c_str());
  if (s == NATS_NOT_FOUND)
    return make_error(errc::not_found, "KV bucket " + name + " does not exist");
  if (s != NATS_OK) return nats_error(s, "cannot open KV bucket " + name);
  return kv_bucket(std::move(conn), name, kv);
}

expected<kv_bucket> ensure_bucket(std::shared_ptr<connection> conn, const kv_spec& spec) {
  if (spec.history < 1 || spec.history > 64)
    return make_error(errc::invalid_input, "KV bucket " + spec.name +
                                               ": history must be 1..64, not " +
                                               std::to_string(spec.history));
  // The stream layout nats.c's js_CreateKeyValue uses.
  stream_spec s;
  s.name = stream_of(spec.name);
  s.subjects = {"$KV." + spec.name + ".>"};
  s.retention = retention_policy::limits;
  s.storage = spec.storage;
  s.replicas = spec.replicas;
  s.max_age = spec.ttl;
  s.max_msgs_per_subject = spec.history;
  s.max_bytes = spec.max_bytes;
  s.max_msg_size = spec.max_value_size;
  s.discard = discard_policy::new_messages;
  s.allow_direct = true;
  s.allow_rollup = true;
  s.deny_delete = !spec.allow_message_delete;
  if (auto r = ensure_stream(*conn, s); !r)
    return make_error(r.error().code, "KV bucket " + spec.name + ": " + r.error().message);
  return kv_bucket::open(std::move(conn), spec.name);
}

expected<kv_entry> kv_bucket::get(std::string_view key) const {
  std::string k(key);
  kvEntry* raw = nullptr;
  natsStatus s = kvStore_Get(&raw, kv_, k.c_str());
  detail::kv_entry_ptr e(raw);
  if (s == NATS_NOT_FOUND)
    return make_error(errc::not_found, "key " + k + " not found in KV bucket " + name_);
  if (s != NATS_OK) return nats_error(s, "cannot read key " + k + " of KV bucket " + name_);
  return detail::to_kv_entry(e.get());
}

expected<kv_entry> kv_bucket::get_latest(std::string_view key) const {
  std::string k(key);
  auto opts = detail::js_options(conn_->options().api_timeout);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsMsg* raw = nullptr;
  auto stream = "KV_" + name_;
  natsStatus s =
      js_GetLastMsg(&raw, conn_->js_handle(), stream.c_str(), (prefix_ + k).c_str(), &opts, &jerr);
  detail::msg_ptr m(raw);
  auto missing = [&] {
    return make_error(errc::not_found, "key " + k + " not found in KV bucket " + name_);
  };
  if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) return missing();
  if (s != NATS_OK) return nats_error(s, "cannot read key " + k + " of KV bucket " + name_, jerr);
  const char* op = nullptr;
  if (natsMsgHeader_Get(raw, "KV-Operation", &op) == NATS_OK && op) return missing();
  kv_entry out;
  out.key = k;
  out.value.assign(natsMsg_GetData(raw), static_cast<std::size_t>(natsMsg_GetDataLength(raw)));
  out.revision = natsMsg_GetSequence(raw);
  return out;
}

expected<std::uint64_t> kv_bucket::put(std::string_view key, std::string_view value) {
  outgoing_message m{prefix_ + std::string(key), std::string(value), {}, {}, std::nullopt};
  auto ack = conn_->js_publish(m, conn_->options().api_timeout);
  if (!ack) return ack.error();
  return ack->seq;
}

expected<std::uint64_t> kv_bucket::update(std::string_view key, std::string_view value,
                                          std::uint64_t revision) {
  outgoing_message m{prefix_ + std::string(key), std::string(value), {}, {}, revision};
  auto ack = conn_->js_publish(m, conn_->options().api_timeout);
  if (!ack) return ack.error();
  return ack->seq;
}

expected<std::uint64_t> kv_bucket::create(std::string_view key, std::string_view value) {
  auto first = update(key, value, 0);
  if (first || first.error().code != errc::conflict) return first;
  // The key holds a message: fine if it is a delete or purge marker.
  std::string subject = prefix_ + std::string(key);
  auto opts = detail::js_options(conn_->options().api_timeout);
  natsMsg* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetLastMsg(&raw, conn_->js_handle(), stream_of(name_).c_str(), subject.c_str(),
                               &opts, &jerr);
  detail::msg_ptr last(raw);
  if (s != NATS_OK)
    return nats_error(s, "cannot read key " + std::string(key) + " of KV bucket " + name_, jerr);
  const char* op = nullptr;
  if (natsMsgHeader_Get(raw, "KV-Operation", &op) == NATS_OK && op &&
      (std::string_view(op) == "DEL" || std::string_view(op) == "PURGE"))
    return update(key, value, natsMsg_GetSequence(raw));
  return make_error(errc::conflict, "key " + std::string(key) + " already exists in KV bucket " +
                                        name_ + " (revision " +
                                        std::to_string(natsMsg_GetSequence(raw)) + ")");
}

expected<void> kv_bucket::erase(std::string_view key) {
  std::string k(key);
  if (natsStatus s = kvStore_Delete(kv_, k.c_str()); s != NATS_OK)
    return nats_error(s, "cannot delete key " + k + " of KV bucket " + name_);
  return {};
}

expected<void> kv_bucket::purge(std::string_view key) {
  std::string k(key);
  if (natsStatus s = kvStore_Purge(kv_, k.c_str(), nullptr); s != NATS_OK)
    return nats_error(s, "cannot purge key " + k + " of KV bucket " + name_);
  return {};
}

expected<std::vector<std::string>> kv_bucket::keys(std::string_view pattern) const {
  auto found = collect(kv_, name_, pattern, true, conn_->options().api_timeout);
  if (!found) return found.error();
  std::vector<std::string> out;
  out.reserve(found->size());
  for (auto& e : *found)
    out.push_back(std::move(e.key));
  return out;
}

expected<std::vector<kv_entry>> kv_bucket::entries(std::string_view pattern) const {
  return collect(kv_, name_, pattern, false, conn_->options().api_timeout);
}

namespace {

void publish_kv(connection& conn, outgoing_message m, kv_write_handler done) {
  conn.js_publish_async(m, [done = std::move(done)](expected<pub_ack> ack) {
    if (ack)
      done(ack->seq);
    else
      done(ack.error());
  });
}

} // namespace

void kv_bucket::put_async(std::string_view key, std::string_view value, kv_write_handler done) {
  publish_kv(*conn_, {prefix_ + std::string(key), std::string(value), {}, {}, std::nullopt},
             std::move(done));
}

void kv_bucket::update_async(std::string_view key, std::string_view value, std::uint64_t revision,
                             kv_write_handler done) {
  publish_kv(*conn_, {prefix_ + std::string(key), std::string(value), {}, {}, revision},
             std::move(done));
}

void kv_bucket::erase_async(std::string_view key, kv_write_handler done,
                            std::optional<std::uint64_t> revision) {
  publish_kv(*conn_, {prefix_ + std::string(key), {}, {{"KV-Operation", "DEL"}}, {}, revision},
             std::move(done));
}

} // namespace sy::broker
