#include "runtime/broker/object_store.hpp"

#include "runtime/broker/ack_window.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <openssl/evp.h>
#include <random>
#include <set>

namespace sy::broker {

namespace {

using namespace std::chrono_literals;

/// A 22-character base62 token, like the NUIDs of the NATS clients.
std::string new_nuid() {
  static constexpr char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out(22, '0');
  for (auto& c : out)
    c = digits[rng() % 62];
  return out;
}

/// Incremental SHA-256 (OpenSSL).
class sha256 {
public:
  sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
  }
  void update(std::string_view bytes) { EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()); }
  /// "SHA-256=<base64url>", as the object-store clients write it.
  std::string digest() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_.get(), out, &n);
    return "SHA-256=" + base64url({reinterpret_cast<const char*>(out), n});
  }

private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

std::string rfc3339_now() {
  auto now = std::chrono::system_clock::now();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  auto len = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + len, sizeof buf - len, ".%09lldZ",
                static_cast<long long>(ns % 1'000'000'000));
  return buf;
}

/// Seconds since the epoch of an RFC 3339 UTC time ("...Z"); 0 if unreadable.
double parse_rfc3339(const std::string& text) {
  std::tm tm{};
  if (!strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return static_cast<double>(timegm(&tm));
}

error failed(const std::string& what, const error& e) {
  return make_error(e.code, what + ": " + e.message);
}

} // namespace

bool same_digest(std::string_view a, std::string_view b) {
  auto strip = [](std::string_view s) {
    while (!s.empty() && s.back() == '=')
      s.remove_suffix(1);
    return s;
  };
  return strip(a) == strip(b);
}

std::string base64url(std::string_view bytes) {
  static constexpr char table[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    std::uint32_t n = (std::uint8_t(bytes[i]) << 16) | (std::uint8_t(bytes[i + 1]) << 8) |
                      std::uint8_t(bytes[i + 2]);
    out += {table[(n >> 18) & 63], table[(n >> 12) & 63], table[(n >> 6) & 63], table[n & 63]};
  }
  if (i + 1 == bytes.size()) {
    std::uint32_t n = std::uint8_t(bytes[i]) << 16;
    out += {table[(n >> 18) & 63], table[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    std::uint32_t n = (std::uint8_t(bytes[i]) << 16) | (std::uint8_t(bytes[i + 1]) << 8);
    out += {table[(n >> 18) & 63], table[(n >> 12) & 63], table[(n >> 6) & 63], '='};
  }
  return out;
}

double mtime_seconds(const object_info& info) {
  return parse_rfc3339(info.mtime);
}

value to_json(const object_info& info) {
  value j = {{"name", info.name},     {"bucket", info.bucket},     {"nuid", info.nuid},
             {"size", info.size},     {"mtime", info.mtime},       {"chunks", info.chunks},
             {"digest", info.digest}, {"options", value::object()}};
  if (!info.description.empty()) j["description"] = info.description;
  if (info.max_chunk_size > 0) j["options"]["max_chunk_size"] = info.max_chunk_size;
  if (!info.metadata.empty()) j["metadata"] = info.metadata;
  if (info.deleted) j["deleted"] = true;
  return j;
}

expected<object_info> object_info_from_json(const value& j) {
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string())
    return make_error(errc::invalid_input, "object metadata without a name");
  object_info info;
  info.name = j["name"].get<std::string>();
  info.description = j.value("description", "");
  info.bucket = j.value("bucket", "");
  info.nuid = j.value("nuid", "");
  info.size = j.value("size", std::uint64_t{0});
  info.chunks = j.value("chunks", std::uint32_t{0});
  info.digest = j.value("digest", "");
  info.mtime = j.value("mtime", "");
  info.deleted = j.value("deleted", false);
  if (j.contains("options") && j["options"].is_object())
    info.max_chunk_size = j["options"].value("max_chunk_size", std::uint32_t{0});
  if (j.contains("metadata") && j["metadata"].is_object())
    for (const auto& [k, v] : j["metadata"].items())
      if (v.is_string()) info.metadata[k] = v.get<std::string>();
  return info;
}

object_store::object_store(std::shared_ptr<connection> conn, object_store_options opts)
    : conn_(std::move(conn)), opts_(std::move(opts)), stream_("OBJ_" + opts_.bucket) {}

expected<object_store> object_store::ensure(std::shared_ptr<connection> conn,
                                            object_store_options opts) {
  if (opts.bucket.empty() || !std::all_of(opts.bucket.begin(), opts.bucket.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
      }))
    return make_error(errc::invalid_input,
                      "object store bucket \"" + opts.bucket + "\": use letters, digits, _ and -");
  if (opts.chunk_size == 0) opts.chunk_size = 128 * 1024;
  stream_spec spec;
  spec.name = "OBJ_" + opts.bucket;
  spec.subjects = {"$O." + opts.bucket + ".C.>", "$O." + opts.bucket + ".M.>"};
  spec.storage = opts.storage;
  spec.replicas = opts.replicas;
  spec.max_age = opts.ttl;
  spec.discard = discard_policy::new_messages;
  spec.allow_direct = true;
  spec.allow_rollup = true;
  if (auto r = ensure_stream(*conn, spec); !r) return r.error();
  return object_store(std::move(conn), std::move(opts));
}

expected<object_store> object_store::open(std::shared_ptr<connection> conn,
                                          const std::string& bucket) {
  auto st = stream_info(*conn, "OBJ_" + bucket);
  if (!st) return failed("object store " + bucket, st.error());
  object_store_options opts;
  opts.bucket = bucket;
  return object_store(std::move(conn), std::move(opts));
}

std::string object_store::meta_subject(const std::string& name) const {
  return "$O." + opts_.bucket + ".M." + base64url(name);
}

expected<void> object_store::publish_meta(const object_info& info) {
  outgoing_message meta;
  meta.subject = meta_subject(info.name);
  meta.data = to_json(info).dump();
  meta.headers = {{"Nats-Rollup", "sub"}}; // the subject keeps this message only
  if (auto r = conn_->js_publish(meta, conn_->options().api_timeout); !r) return r.error();
  return {};
}

std::string object_store::chunk_subject(const std::string& nuid) const {
  return "$O." + opts_.bucket + ".C." + nuid;
}

expected<std::optional<message>> object_store::direct_get(const value& request) const {
  auto reply =
      conn_->request("$JS.API.DIRECT.GET." + stream_, request.dump(), conn_->options().api_timeout);
  if (!reply) return reply.error();
  auto status = reply->status();
  if (status == 404) return std::optional<message>{};
  if (status != 0)
    return make_error(errc::unavailable, "direct get on " + stream_ + " failed with status " +
                                             std::to_string(status) + " " +
                                             reply->header("Description").value_or(""));
  return std::optional<message>{std::move(*reply)};
}

expected<object_info> object_store::info(const std::string& name) const {
  auto got = direct_get(value{{"last_by_subj", meta_subject(name)}});
  if (!got) return failed("object " + name, got.error());
  if (!*got) return make_error(errc::not_found, "no object \"" + name + "\" in " + opts_.bucket);
  auto parsed = object_info_from_json(value::parse((*got)->data(), nullptr, false));
  if (!parsed) return failed("object " + name, parsed.error());
  if (parsed->deleted)
    return make_error(errc::not_found,
                      "object \"" + name + "\" in " + opts_.bucket + " was deleted");
  return parsed;
}

expected<object_info> object_store::put(const std::string& name, const object_reader& read,
                                        const std::map<std::string, std::string>& metadata) {
  if (name.empty()) return make_error(errc::invalid_input, "an object needs a name");
  auto previous = info(name);
  if (!previous && previous.error().code != errc::not_found) return previous.error();
  object_info out;
  out.name = name;
  out.bucket = opts_.bucket;
  out.nuid = new_nuid();
  out.max_chunk_size = opts_.chunk_size;
  out.metadata = metadata;
  auto subject = chunk_subject(out.nuid);
  auto give_up = [&](const std::string& why, const error& e) -> error {
    (void)purge_chunks(subject);
    return make_error(e.code, "object " + name + ": " + why + ": " + e.message);
  };
  sha256 hash;
  {
    ack_window window{opts_.chunks_in_flight};
    std::string buffer(opts_.chunk_size, '\0');
    for (;;) {
      // Fill a whole chunk (readers may return less).
      std::size_t filled = 0;
      while (filled < buffer.size()) {
        auto n = read(buffer.data() + filled, buffer.size() - filled);
        if (!n) return give_up("reading the content", n.error());
        if (*n == 0) break;
        filled += *n;
      }
      if (filled == 0) break;
      std::string_view chunk{buffer.data(), filled};
      hash.update(chunk);
      outgoing_message m;
      m.subject = subject;
      m.data.assign(chunk);
      conn_->js_publish_async(m, window.start());
      if (auto f = window.failure()) return give_up("storing a chunk", *f);
      out.size += filled;
      ++out.chunks;
      if (filled < buffer.size()) break;
    }
    if (auto r = window.finish(60s); !r) return give_up("storing the chunks", r.error());
  }
  out.digest = hash.digest();
  out.mtime = rfc3339_now();
  if (auto r = publish_meta(out); !r) return give_up("storing the metadata", r.error());
  if (previous && previous->nuid != out.nuid) (void)purge_chunks(chunk_subject(previous->nuid));
  return out;
}

expected<object_info> object_store::put_bytes(const std::string& name, std::string_view data,
                                              const std::map<std::string, std::string>& metadata) {
  std::size_t at = 0;
  return put(
      name,
      [&](char* buf, std::size_t n) -> expected<std::size_t> {
        auto k = std::min(n, data.size() - at);
        std::copy_n(data.data() + at, k, buf);
        at += k;
        return k;
      },
      metadata);
}

expected<object_info> object_store::put_file(const std::string& name, const std::string& path,
                                             const std::map<std::string, std::string>& metadata) {
  std::ifstream in{path, std::ios::binary};
  if (!in) return make_error(errc::io, "cannot open " + path);
  return put(
      name,
      [&](char* buf, std::size_t n) -> expected<std::size_t> {
        in.read(buf, static_cast<std::streamsize>(n));
        if (in.bad()) return make_error(errc::io, "cannot read " + path);
        return static_cast<std::size_t>(in.gcount());
      },
      metadata);
}

expected<object_info> object_store::get(const std::string& name, const object_writer& write) const {
  auto found = info(name);
  if (!found) return found.error();
  auto subject = chunk_subject(found->nuid);
  sha256 hash;
  std::uint64_t size = 0;
  std::uint64_t next_seq = 1;
  auto corrupt = [&](const std::string& what) {
    return make_error(errc::invalid_input,
                      "object " + name + " in " + opts_.bucket + " is corrupt: " + what);
  };
  for (std::uint32_t i = 0; i < found->chunks; ++i) {
    auto got = direct_get(value{{"seq", next_seq}, {"next_by_subj", subject}});
    if (!got) return failed("object " + name, got.error());
    if (!*got)
      return corrupt("chunk " + std::to_string(i + 1) + " of " + std::to_string(found->chunks) +
                     " is missing");
    auto seq = (*got)->header("Nats-Sequence");
    next_seq = (seq ? std::stoull(*seq) : next_seq) + 1;
    auto data = (*got)->data();
    hash.update(data);
    size += data.size();
    if (auto r = write(data); !r) return failed("object " + name, r.error());
  }
  if (size != found->size)
    return corrupt(std::to_string(size) + " bytes read, " + std::to_string(found->size) +
                   " recorded");
  if (!same_digest(hash.digest(), found->digest)) return corrupt("SHA-256 digest mismatch");
  return found;
}

expected<std::string> object_store::get_bytes(const std::string& name) const {
  std::string out;
  auto r = get(name, [&](std::string_view chunk) -> expected<void> {
    out.append(chunk);
    return {};
  });
  if (!r) return r.error();
  return out;
}

expected<void> object_store::remove(const std::string& name) {
  auto found = info(name);
  if (!found) return found.error();
  object_info gone;
  gone.name = name;
  gone.bucket = opts_.bucket;
  gone.nuid = found->nuid;
  gone.deleted = true;
  gone.mtime = rfc3339_now();
  if (auto r = publish_meta(gone); !r) return failed("deleting object " + name, r.error());
  return purge_chunks(chunk_subject(found->nuid));
}

expected<std::vector<object_info>> object_store::list() const {
  auto metas = subject_counts(*conn_, stream_, "$O." + opts_.bucket + ".M.>");
  if (!metas) return metas.error();
  std::vector<object_info> out;
  for (const auto& [subject, _] : *metas) {
    auto got = direct_get(value{{"last_by_subj", subject}});
    if (!got) return got.error();
    if (!*got) continue;
    auto parsed = object_info_from_json(value::parse((*got)->data(), nullptr, false));
    if (parsed && !parsed->deleted) out.push_back(std::move(*parsed));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

expected<std::vector<std::string>>
object_store::orphan_chunk_subjects(std::chrono::seconds older_than) const {
  auto chunks = subject_counts(*conn_, stream_, "$O." + opts_.bucket + ".C.>");
  if (!chunks) return chunks.error();
  if (chunks->empty()) return std::vector<std::string>{};
  auto live = list();
  if (!live) return live.error();
  std::set<std::string> named;
  for (const auto& o : *live)
    named.insert(chunk_subject(o.nuid));
  std::vector<std::string> out;
  auto now = static_cast<double>(std::time(nullptr));
  for (const auto& [subject, _] : *chunks) {
    if (named.count(subject)) continue;
    auto last = direct_get(value{{"last_by_subj", subject}});
    if (!last) return last.error();
    if (!*last) continue;
    auto stamp = parse_rfc3339((*last)->header("Nats-Time-Stamp").value_or(""));
    if (stamp > 0 && now - stamp < static_cast<double>(older_than.count())) continue;
    out.push_back(subject);
  }
  return out;
}

expected<void> object_store::purge_chunks(const std::string& subject) {
  return purge_stream(*conn_, stream_, subject);
}

} // namespace sy::broker
