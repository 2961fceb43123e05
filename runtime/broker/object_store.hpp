#pragma once

#include "runtime/broker/connection.hpp"
#include "runtime/broker/stream_spec.hpp"
#include "runtime/core/expected.hpp"
#include "runtime/core/value.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sy::broker {

/// What an object store records about one object: the NATS object-store
/// metadata (ADR-20), as the Go, Python and JavaScript clients read and
/// write it.
struct object_info {
  std::string name;
  std::string description;
  std::string bucket;
  /// The token of the object's chunk subject `$O.<bucket>.C.<nuid>`.
  std::string nuid;
  std::uint64_t size = 0;
  std::uint32_t chunks = 0;
  /// "SHA-256=" and the base64url digest of the content.
  std::string digest;
  /// RFC 3339, UTC.
  std::string mtime;
  std::uint32_t max_chunk_size = 0;
  bool deleted = false;
  /// Free-form metadata (`metadata` in the JSON; newer clients).
  std::map<std::string, std::string> metadata;
};

value to_json(const object_info& info);
/// `mtime` in Unix seconds; 0 if it cannot be read.
double mtime_seconds(const object_info& info);
expected<object_info> object_info_from_json(const value& json);

/// How an object store bucket is created.
struct object_store_options {
  /// `[A-Za-z0-9_-]+`; the stream is `OBJ_<bucket>`.
  std::string bucket;
  std::string description;
  int replicas = 1;
  storage_type storage = storage_type::file;
  /// Objects older than this are removed; 0 = kept.
  std::chrono::nanoseconds ttl{0};
  /// Size of the chunks `put` writes (the clients' default: 128 KiB).
  std::uint32_t chunk_size = 128 * 1024;
  /// Chunks published and not yet confirmed, at most, during a `put`.
  int chunks_in_flight = 64;
};

/// Fills `buffer` with up to `size` bytes; returns how many (0 at the end).
using object_reader = std::function<expected<std::size_t>(char* buffer, std::size_t size)>;
/// Receives the content, chunk by chunk, in order.
using object_writer = std::function<expected<void>(std::string_view chunk)>;

/// A bucket of the NATS object store, implemented on JetStream primitives
/// (nats.c 3.4 has no object-store API): stream `OBJ_<bucket>` with chunk
/// subjects `$O.<bucket>.C.<nuid>` and metadata subjects
/// `$O.<bucket>.M.<base64url(name)>` (rolled up: the last message is the
/// object's metadata). Content streams through in chunks: nothing holds a
/// whole object in memory.
///
/// `put` publishes every chunk, then the metadata: an upload that stops
/// early (error or crash) leaves no visible object, only chunks that no
/// metadata names (removed on error; `orphan_chunk_subjects` finds those of
/// a crash). `get` checks the size and the SHA-256 digest and fails on a
/// mismatch rather than hand out corrupt content.
///
/// Thread-compatible; blocking: not for CAF worker threads.
class object_store {
public:
  /// Creates the bucket's stream if needed (or checks the existing one).
  static expected<object_store> ensure(std::shared_ptr<connection> conn, object_store_options opts);

  /// Binds to an existing bucket without changing it (`errc::not_found` if
  /// its stream does not exist); writes use the default chunk size.
  static expected<object_store> open(std::shared_ptr<connection> conn, const std::string& bucket);

  /// Stores the content `read` yields under `name`, replacing an object of
  /// that name (whose chunks are removed after the new metadata is stored).
  expected<object_info> put(const std::string& name, const object_reader& read,
                            const std::map<std::string, std::string>& metadata = {});
  expected<object_info> put_bytes(const std::string& name, std::string_view data,
                                  const std::map<std::string, std::string>& metadata = {});
  /// Streams the file at `path`; errors name it.
  expected<object_info> put_file(const std::string& name, const std::string& path,
                                 const std::map<std::string, std::string>& metadata = {});

  /// The metadata of `name`; `errc::not_found` if there is none or it was
  /// deleted.
  expected<object_info> info(const std::string& name) const;

  /// Streams the content of `name` to `write`, then checks size and digest
  /// (a mismatch is `errc::invalid_input`, naming the object). `write` may
  /// have seen bad content by then: callers writing files write to a
  /// temporary one and rename it once verified.
  expected<object_info> get(const std::string& name, const object_writer& write) const;
  expected<std::string> get_bytes(const std::string& name) const;

  /// Marks `name` deleted and removes its chunks. Not found: an error.
  expected<void> remove(const std::string& name);

  /// Every object not deleted, sorted by name.
  expected<std::vector<object_info>> list() const;

  /// Chunk subjects whose chunks no metadata names: uploads that died
  /// before their metadata (or whose clean-up failed). `older_than`: only
  /// those whose last chunk is at least that old, so uploads in progress
  /// are left alone.
  expected<std::vector<std::string>> orphan_chunk_subjects(std::chrono::seconds older_than) const;

  /// Removes the messages of one chunk subject.
  expected<void> purge_chunks(const std::string& subject);

private:
  object_store(std::shared_ptr<connection> conn, object_store_options opts);

  std::string meta_subject(const std::string& name) const;
  std::string chunk_subject(const std::string& nuid) const;
  /// Stores `info` as the object's metadata, replacing earlier ones.
  expected<void> publish_meta(const object_info& info);
  /// The message of `request` to the direct-get API; none on 404.
  expected<std::optional<message>> direct_get(const value& request) const;

  std::shared_ptr<connection> conn_;
  object_store_options opts_;
  std::string stream_;
};

/// True if two "SHA-256=..." digests name the same content: equal with or
/// without base64 padding (the Go client pads, the JavaScript one does not).
bool same_digest(std::string_view a, std::string_view b);

/// base64url with padding, as object names are encoded in subjects.
std::string base64url(std::string_view bytes);

} // namespace sy::broker
