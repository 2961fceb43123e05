#include "runtime/core/cpu_latency.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <utility>

namespace sy {

namespace {

constexpr const char* device = "/dev/cpu_dma_latency";

error device_error(const char* what) {
  return make_error(errc::io, std::string{"cannot "} + what + " " + device + ": " +
                                  std::strerror(errno) +
                                  (errno == EACCES ? " (it needs root)" : ""));
}

} // namespace

expected<cpu_latency_request> cpu_latency_request::hold(int microseconds) {
  if (microseconds < 0)
    return make_error(errc::invalid_input, "a CPU wake-up latency cannot be negative (got " +
                                               std::to_string(microseconds) + " µs)");
  int fd = ::open(device, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return device_error("open");
  std::int32_t value = microseconds;
  if (::write(fd, &value, sizeof value) != static_cast<ssize_t>(sizeof value)) {
    auto e = device_error("write to");
    ::close(fd);
    return e;
  }
  return cpu_latency_request{fd};
}

expected<int> cpu_latency_request::current() {
  int fd = ::open(device, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return device_error("open");
  std::int32_t value = 0;
  auto n = ::read(fd, &value, sizeof value);
  auto e = n == static_cast<ssize_t>(sizeof value) ? expected<int>{value}
                                                   : expected<int>{device_error("read")};
  ::close(fd);
  return e;
}

cpu_latency_request::cpu_latency_request(cpu_latency_request&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

cpu_latency_request& cpu_latency_request::operator=(cpu_latency_request&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

cpu_latency_request::~cpu_latency_request() {
  if (fd_ >= 0) ::close(fd_);
}

} // namespace sy
