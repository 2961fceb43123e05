#pragma once

#include <cassert>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace sy {

/// Broad kinds of failure, shared by every subsystem so that the CLI can map
/// them to exit codes and the HTTP API to status codes without knowing who
/// failed.
enum class errc {
  invalid_input, ///< bad bytes, JSON, filter, CLI argument: the caller's fault
  config,        ///< bad configuration file, key or value
  not_found,     ///< a uid, key, plugin or file that does not exist
  conflict,      ///< the thing exists with another shape (stream config, bind)
  unavailable,   ///< broker unreachable, timeout: worth retrying
  io,            ///< file system or process failure
  plugin,        ///< a plugin failed to load or to create
  internal,      ///< a bug: an invariant did not hold
};

/// Returns a short lowercase name for `code`, as printed in error messages.
const char* to_string(errc code);

/// A failure as a value: a kind and a message that names the culprit
/// (file, key, line, uid, plugin path). Cheap to move, never thrown.
struct error {
  errc code = errc::internal;
  std::string message;
};

inline error make_error(errc code, std::string message) {
  return error{code, std::move(message)};
}

/// Either a `T` or an `error`. The minimal subset of C++23 `std::expected`
/// that the project needs; `expected<void>` carries no value.
template <class T> class [[nodiscard]] expected {
public:
  expected(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  expected(sy::error err) : state_(std::in_place_index<1>, std::move(err)) {}
  /// From anything convertible to `T`, as `std::expected`: returning a
  /// `std::unique_ptr<derived>` where `expected<std::unique_ptr<base>>` is due.
  template <class U,
            std::enable_if_t<std::is_convertible_v<U&&, T> && !std::is_same_v<std::decay_t<U>, T> &&
                                 !std::is_same_v<std::decay_t<U>, sy::error> &&
                                 !std::is_same_v<std::decay_t<U>, expected>,
                             int> = 0>
  expected(U&& v) : state_(std::in_place_index<0>, T(std::forward<U>(v))) {}

  explicit operator bool() const { return state_.index() == 0; }
  bool has_value() const { return state_.index() == 0; }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const sy::error& error() const { return std::get<1>(state_); }

private:
  std::variant<T, sy::error> state_;
};

template <> class [[nodiscard]] expected<void> {
public:
  expected() = default;
  expected(sy::error err) : err_(std::move(err)), ok_(false) {}

  explicit operator bool() const { return ok_; }
  bool has_value() const { return ok_; }
  const sy::error& error() const { return err_; }

private:
  sy::error err_;
  bool ok_ = true;
};

} // namespace sy
