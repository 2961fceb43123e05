#include "runtime/task/uid.hpp"

#include <array>
#include <cstdint>
#include <openssl/sha.h>
#include <random>

namespace sy {

namespace {

std::string format_uuid(const std::uint8_t* bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[bytes[i] >> 4];
    out += hex[bytes[i] & 0xf];
  }
  return out;
}

void set_version(std::uint8_t* bytes, std::uint8_t version) {
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0f) | (version << 4));
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3f) | 0x80); // RFC 4122 variant
}

/// The namespace of switchyard's name-based uids (a fixed random UUID).
constexpr std::array<std::uint8_t, 16> fork_namespace = {
    0x6b, 0x1f, 0x3c, 0x52, 0x0e, 0x4d, 0x4a, 0x8e, 0x9d, 0x27, 0x51, 0xc0, 0x83, 0x6f, 0x2a, 0x94};

} // namespace

std::string new_uid() {
  thread_local std::mt19937_64 engine{[] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), device(), device()};
    return std::mt19937_64{seed};
  }()};
  std::array<std::uint8_t, 16> bytes;
  for (int i = 0; i < 16; i += 8) {
    auto r = engine();
    for (int j = 0; j < 8; ++j)
      bytes[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
  }
  set_version(bytes.data(), 4);
  return format_uuid(bytes.data());
}

std::string fork_uid(std::string_view orig_uid, std::string_view identity) {
  // The separator keeps ("ab", "c") and ("a", "bc") apart; neither a uid nor
  // an identity can contain a NUL byte.
  std::string input{reinterpret_cast<const char*>(fork_namespace.data()), fork_namespace.size()};
  input.append(orig_uid).append(1, '\0').append(identity);
  std::uint8_t digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  set_version(digest, 5);
  return format_uuid(digest);
}

bool is_uid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

} // namespace sy
