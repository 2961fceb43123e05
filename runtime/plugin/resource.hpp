#pragma once

#include "runtime/core/expected.hpp"
#include "runtime/task/resource_ref.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <unistd.h>

namespace sy {

/// Receives a resource's content, chunk by chunk, in order.
using resource_sink = std::function<expected<void>(std::string_view chunk)>;

/// What reads resources for a consumer: the runtime's side of `resource`.
class resource_reader {
public:
  virtual ~resource_reader() = default;

  /// Streams the content of `ref` to `sink` in chunks (a resource never has
  /// to fit in memory), checking size and SHA-256 against the object store
  /// and the reference: a mismatch is an error, never silent corruption.
  virtual expected<void> read_resource(const resource_ref& ref, const resource_sink& sink) = 0;
};

/// A resource attached to the task being processed, read lazily: nothing is
/// downloaded until asked. Valid while the `process` call that made it runs.
class resource {
public:
  resource(resource_ref ref, resource_reader& reader) : ref_(std::move(ref)), reader_(&reader) {}

  const resource_ref& ref() const { return ref_; }
  const std::string& name() const { return ref_.name; }
  std::uint64_t size() const { return ref_.size; }

  /// The whole content in memory: for small resources.
  expected<std::string> content() const {
    std::string out;
    auto r = reader_->read_resource(ref_, [&](std::string_view chunk) -> expected<void> {
      out.append(chunk);
      return {};
    });
    if (!r) return r.error();
    return out;
  }

  /// Streams the content to `sink`.
  expected<void> read(const resource_sink& sink) const {
    return reader_->read_resource(ref_, sink);
  }

  /// Downloads to `path` (through `path`.part, renamed once verified).
  expected<void> download_to(const std::string& path) const {
    auto part = path + ".part";
    std::ofstream out{part, std::ios::binary | std::ios::trunc};
    if (!out) return make_error(errc::io, "cannot write " + part);
    auto r = reader_->read_resource(ref_, [&](std::string_view chunk) -> expected<void> {
      out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      if (!out) return make_error(errc::io, "cannot write " + part);
      return {};
    });
    out.close();
    if (!r || !out || std::rename(part.c_str(), path.c_str()) != 0) {
      std::remove(part.c_str());
      return r ? make_error(errc::io, "cannot write " + path) : r.error();
    }
    return {};
  }

  /// Downloads to a new temporary file and returns its path; the caller
  /// removes it.
  expected<std::string> temp_file() const {
    const char* dir = std::getenv("TMPDIR");
    std::string path = std::string{dir && *dir ? dir : "/tmp"} + "/sy-resource-XXXXXX";
    int fd = mkstemp(path.data());
    if (fd < 0) return make_error(errc::io, "cannot create a temporary file in " + path);
    close(fd);
    if (auto r = download_to(path); !r) {
      std::remove(path.c_str());
      return r.error();
    }
    return path;
  }

  /// The payload value to give a child task: the same object, not a copy.
  value forward() const { return to_value(ref_); }

private:
  resource_ref ref_;
  resource_reader* reader_;
};

} // namespace sy
