#pragma once

#include "runtime/broker/kv_entry.hpp"
#include "runtime/broker/kv_watcher.hpp"
#include "runtime/broker/nats_fwd.hpp"
#include "runtime/broker/stream_spec.hpp"
#include "runtime/core/expected.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sy::broker {

class connection;

/// The shape switchyard needs for a KV bucket (stored as stream `KV_<name>`).
struct kv_spec {
  /// Bucket name, e.g. `sy_tasks`.
  std::string name;
  /// Revisions kept per key (1..64).
  int history = 1;
  /// Entries older than this disappear; 0 = never (e.g. `sy_nodes` heartbeats use it).
  std::chrono::nanoseconds ttl{0};
  int replicas = 1;
  storage_type storage = storage_type::file;
  /// Largest value in bytes; -1 = server limit.
  std::int32_t max_value_size = -1;
  /// Bucket size limit; -1 = unlimited.
  std::int64_t max_bytes = -1;
  /// Let single revisions be removed by sequence without a delete marker
  /// (the stream's deny_delete off). NATS KV clients create buckets with
  /// deletes denied; an existing bucket that denies them is a conflict.
  bool allow_message_delete = false;
};

/// Receives the revision an asynchronous write got, or its error.
using kv_write_handler = std::function<void(expected<std::uint64_t>)>;

/// A KV bucket on a connection. Reads, watches and rare writes go through
/// nats.c's kvStore; the hot-path writes (`*_async`) are asynchronous
/// JetStream publishes to `$KV.<bucket>.<key>` through
/// `connection::js_publish_async`, so they never wait for a round trip.
///
/// Keys are NATS subject tokens joined by dots (`<root>.<uid>`); patterns
/// use `*` and `>`. Thread-safe. Blocking methods must not run on nats.c
/// callback threads. Holds its connection alive. Move-only.
class kv_bucket {
public:
  kv_bucket(kv_bucket&&) noexcept;
  kv_bucket& operator=(kv_bucket&&) noexcept;
  kv_bucket(const kv_bucket&) = delete;
  kv_bucket& operator=(const kv_bucket&) = delete;
  ~kv_bucket();

  /// Binds to an existing bucket; `errc::not_found` if it does not exist.
  static expected<kv_bucket> open(std::shared_ptr<connection> conn, const std::string& name);

  const std::string& name() const noexcept { return name_; }

  /// The latest value; `errc::not_found` if the key is missing or deleted.
  /// A direct get: any replica answers, so in a cluster a replica that is
  /// behind can miss a recent write (or say "not found" for a new key).
  expected<kv_entry> get(std::string_view key) const;
  /// The same, answered by the stream's leader: never behind, one hop
  /// slower. For decisions a stale "not found" would make wrong.
  expected<kv_entry> get_latest(std::string_view key) const;
  /// Writes unconditionally; returns the new revision.
  expected<std::uint64_t> put(std::string_view key, std::string_view value);
  /// Writes only if the key is absent or deleted; `errc::conflict` if it has a value.
  expected<std::uint64_t> create(std::string_view key, std::string_view value);
  /// Writes only if the key's latest revision is `revision` (compare-and-set);
  /// `errc::conflict` otherwise.
  expected<std::uint64_t> update(std::string_view key, std::string_view value,
                                 std::uint64_t revision);
  /// Adds a delete marker (history is kept).
  expected<void> erase(std::string_view key);
  /// Adds a purge marker and drops the key's history.
  expected<void> purge(std::string_view key);
  /// Keys with a current value matching `pattern` (e.g. "root.*").
  expected<std::vector<std::string>> keys(std::string_view pattern = ">") const;
  /// Current entries matching `pattern`, deletes excluded. Holds them all in
  /// memory: meant for one analysis tree or one bind list, not a whole bucket.
  expected<std::vector<kv_entry>> entries(std::string_view pattern = ">") const;

  /// Asynchronous put; `done` runs once on a broker thread (see
  /// `connection::js_publish_async` for the timeout semantics).
  void put_async(std::string_view key, std::string_view value, kv_write_handler done);
  /// Asynchronous compare-and-set: only if the key's latest revision is
  /// `revision`. 0 means "the key holds no message at all"; after `erase`
  /// or `purge` the key's marker has a revision (use `create` to overwrite
  /// a deleted key). A mismatch is `errc::conflict`.
  void update_async(std::string_view key, std::string_view value, std::uint64_t revision,
                    kv_write_handler done);
  /// Asynchronous delete marker; with a `revision`, only if that is the
  /// key's latest one (`errc::conflict` otherwise).
  void erase_async(std::string_view key, kv_write_handler done,
                   std::optional<std::uint64_t> revision = std::nullopt);

  /// Watches keys matching `pattern`; see `kv_watcher`.
  expected<kv_watcher> watch(std::string_view pattern, kv_watch_handler handler,
                             kv_watch_options opts = {}) const;

private:
  kv_bucket(std::shared_ptr<connection> conn, std::string name, kvStore* kv) noexcept;

  std::shared_ptr<connection> conn_;
  std::string name_;
  std::string prefix_; // "$KV.<name>."
  kvStore* kv_ = nullptr;
};

/// Makes the bucket exist with `spec`'s shape, like `ensure_stream` (history,
/// ttl, limits are updated in place; another storage is an `errc::conflict`
/// naming the bucket and the field), and opens it.
expected<kv_bucket> ensure_bucket(std::shared_ptr<connection> conn, const kv_spec& spec);

} // namespace sy::broker
