#include "runtime/filter/karton.hpp"

#include "runtime/filter/glob.hpp"

#include <cmath>
#include <optional>
#include <string>

namespace sy::filter {

namespace {

class present final : public condition {
public:
  bool holds(const value* h) const noexcept override { return h != nullptr; }
};

class glob_condition final : public condition {
public:
  explicit glob_condition(std::string_view pattern) : glob_(pattern) {}
  bool holds(const value* h) const noexcept override {
    return h && h->is_string() && glob_.matches(h->get_ref<const std::string&>());
  }

private:
  glob glob_;
};

/// The number, boolean or null that prints exactly as `text`, if any: "20",
/// "1.5", "true", "null" have one; "1e2" (prints "100.0") and " 1" do not.
std::optional<value> scalar_printed_as(const std::string& text) {
  auto v = value::parse(text, nullptr, false);
  if (v.is_discarded() || v.is_structured() || v.is_string() || v.dump() != text)
    return std::nullopt;
  return v;
}

/// True if the header `h` prints as the same JSON text as `scalar` would,
/// without printing it: same kind (an integer never prints like a float, a
/// boolean never like a number), same value, and for floats the same sign.
bool prints_alike(const value& h, const value& scalar) noexcept {
  if (h.is_number_float() != scalar.is_number_float()) return false;
  if (h.is_number_float() && std::signbit(h.get<double>()) != std::signbit(scalar.get<double>()))
    return false;
  return h == scalar;
}

bool is_text(const value& v, const std::string& text) noexcept {
  return v.is_string() && v.get_ref<const std::string&>() == text;
}

class text_equals final : public condition {
public:
  explicit text_equals(std::string text)
      : text_(std::move(text)), scalar_(scalar_printed_as(text_)) {}

  bool holds(const value* h) const noexcept override {
    if (!h) return false;
    if (h->is_string()) return is_text(*h, text_);
    if (h->is_array()) return any_element(*h, [this](const value& e) { return is_text(e, text_); });
    return scalar_ && prints_alike(*h, *scalar_);
  }

private:
  std::string text_;
  std::optional<value> scalar_;
};

} // namespace

condition_ptr compile_karton_string(std::string_view text) {
  if (text == "*") return std::make_unique<const present>();
  if (is_glob(text)) return std::make_unique<const glob_condition>(text);
  return std::make_unique<const text_equals>(std::string{text});
}

} // namespace sy::filter
