#include "runtime/broker/zip_stream.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

namespace sy::broker {

namespace {

namespace fs = std::filesystem;

std::uint32_t crc32_update(std::uint32_t crc, const char* data, std::size_t n) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i)
    crc = table[(crc ^ static_cast<unsigned char>(data[i])) & 0xff] ^ (crc >> 8);
  return ~crc;
}

void put16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>(v >> 8);
}

void put32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out += static_cast<char>((v >> (8 * i)) & 0xff);
}

struct entry {
  std::string path; ///< on disk
  std::string name; ///< in the archive, '/'-separated
  std::uint32_t crc = 0;
  std::uint32_t size = 0;
  std::uint32_t offset = 0;
};

constexpr std::uint16_t version = 20;
constexpr std::uint16_t descriptor_flag = 0x0008 | 0x0800; // data descriptor, UTF-8 names
constexpr std::uint32_t limit = 0xffffffffu;

/// The archive as a state machine: header, data, descriptor per entry, then
/// the central directory.
class zip_writer {
public:
  explicit zip_writer(std::vector<entry> entries) : entries_(std::move(entries)) {}

  expected<std::size_t> read(char* buf, std::size_t n) {
    std::size_t filled = 0;
    while (filled < n) {
      if (failure_) return *failure_;
      if (pending_at_ < pending_.size()) {
        auto k = std::min(n - filled, pending_.size() - pending_at_);
        std::memcpy(buf + filled, pending_.data() + pending_at_, k);
        pending_at_ += k;
        filled += k;
        produced_ += k;
        continue;
      }
      if (in_.is_open()) { // file data straight into the caller's buffer
        in_.read(buf + filled, static_cast<std::streamsize>(n - filled));
        if (in_.bad()) return make_error(errc::io, "cannot read " + entries_[current_].path);
        auto got = static_cast<std::size_t>(in_.gcount());
        auto& e = entries_[current_];
        e.crc = crc32_update(e.crc, buf + filled, got);
        if (e.size + static_cast<std::uint64_t>(got) > limit)
          return make_error(errc::invalid_input,
                            e.path + ": larger than 4 GiB (ZIP64 unsupported)");
        e.size += static_cast<std::uint32_t>(got);
        filled += got;
        produced_ += got;
        if (got == 0) finish_entry();
        continue;
      }
      if (!next()) break;
    }
    if (produced_ > limit)
      return make_error(errc::invalid_input, "the archive passes 4 GiB (ZIP64 unsupported)");
    return filled;
  }

private:
  void stage(std::string bytes) {
    pending_ = std::move(bytes);
    pending_at_ = 0;
  }

  /// Moves to the next part; false at the end.
  bool next() {
    if (done_) return false;
    if (++current_ < entries_.size()) {
      auto& e = entries_[current_];
      e.offset = static_cast<std::uint32_t>(produced_);
      std::string h;
      put32(h, 0x04034b50);
      put16(h, version);
      put16(h, descriptor_flag);
      put16(h, 0);    // stored
      put16(h, 0);    // time
      put16(h, 0x21); // date: 1980-01-01
      put32(h, 0);
      put32(h, 0);
      put32(h, 0);
      put16(h, static_cast<std::uint16_t>(e.name.size()));
      put16(h, 0);
      h += e.name;
      stage(std::move(h));
      in_.open(e.path, std::ios::binary);
      if (!in_) failure_ = make_error(errc::io, "cannot open " + e.path);
      return true;
    }
    std::string central;
    for (const auto& e : entries_) {
      put32(central, 0x02014b50);
      put16(central, version);
      put16(central, version);
      put16(central, descriptor_flag);
      put16(central, 0);
      put16(central, 0);
      put16(central, 0x21);
      put32(central, e.crc);
      put32(central, e.size);
      put32(central, e.size);
      put16(central, static_cast<std::uint16_t>(e.name.size()));
      put16(central, 0);
      put16(central, 0);
      put16(central, 0);
      put16(central, 0);
      put32(central, 0);
      put32(central, e.offset);
      central += e.name;
    }
    std::string end;
    put32(end, 0x06054b50);
    put16(end, 0);
    put16(end, 0);
    put16(end, static_cast<std::uint16_t>(entries_.size()));
    put16(end, static_cast<std::uint16_t>(entries_.size()));
    put32(end, static_cast<std::uint32_t>(central.size()));
    put32(end, static_cast<std::uint32_t>(produced_)); // where the directory starts
    put16(end, 0);
    stage(central + end);
    done_ = true;
    return true;
  }

  void finish_entry() {
    in_.close();
    in_.clear();
    const auto& e = entries_[current_];
    std::string d;
    put32(d, 0x08074b50);
    put32(d, e.crc);
    put32(d, e.size);
    put32(d, e.size);
    stage(std::move(d));
  }

  std::vector<entry> entries_;
  std::size_t current_ = static_cast<std::size_t>(-1);
  std::ifstream in_;
  std::string pending_;
  std::size_t pending_at_ = 0;
  /// Bytes of the archive handed out so far.
  std::uint64_t produced_ = 0;
  bool done_ = false;
  std::optional<error> failure_;
};

} // namespace

expected<object_reader> zip_directory(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return make_error(errc::io, dir + " is not a directory");
  std::vector<entry> entries;
  for (fs::recursive_directory_iterator i{dir, ec}, end; !ec && i != end; i.increment(ec)) {
    if (!i->is_regular_file()) continue;
    entry e;
    e.path = i->path().string();
    e.name = fs::relative(i->path(), dir).generic_string();
    entries.push_back(std::move(e));
  }
  if (ec) return make_error(errc::io, "cannot list " + dir + ": " + ec.message());
  if (entries.size() > 0xffff)
    return make_error(errc::invalid_input, dir + ": too many files for ZIP");
  std::sort(entries.begin(), entries.end(),
            [](const entry& a, const entry& b) { return a.name < b.name; });
  auto writer = std::make_shared<zip_writer>(std::move(entries));
  return object_reader{[writer](char* buf, std::size_t n) { return writer->read(buf, n); }};
}

} // namespace sy::broker
