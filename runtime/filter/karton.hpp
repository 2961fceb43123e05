#pragma once

#include "runtime/filter/condition.hpp"

#include <string_view>

/// Internal to runtime/filter: Karton's string conditions.
namespace sy::filter {

/// Compiles a rule's top-level string condition, without its leading `!`
/// (DESIGN §2.3, §2.4): `"*"` holds when the header is present; a text with
/// `*`, `?` or `[` is an anchored glob, which only a string header can match;
/// any other text equals a string header, a string element of a list header,
/// or the JSON text of a number, boolean or null header (`20`, `1.5`, `true`).
condition_ptr compile_karton_string(std::string_view text);

} // namespace sy::filter
