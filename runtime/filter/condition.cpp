#include "runtime/filter/condition.hpp"

#include "runtime/filter/regex.hpp"
#include "runtime/filter/rule.hpp"

#include <regex>
#include <vector>

namespace sy::filter {

namespace {

// -- nodes --------------------------------------------------------------------

template <class T, class... Args> condition_ptr make(Args&&... args) {
  return std::make_unique<const T>(std::forward<Args>(args)...);
}

/// A test on a present value. On a list, the list as a whole or any of its
/// elements may pass (MongoDB's rule).
class value_test : public condition {
public:
  bool holds(const value* h) const noexcept final {
    return h && (test(*h) || any_element(*h, [this](const value& e) { return test(e); }));
  }

private:
  virtual bool test(const value& v) const noexcept = 0;
};

/// JSON equality: 1 == 1.0, true != 1, "1" != 1, binary != string.
class equals final : public value_test {
public:
  explicit equals(value expected) : expected_(std::move(expected)) {}

private:
  bool test(const value& v) const noexcept override { return v == expected_; }
  value expected_;
};

enum class order { gt, gte, lt, lte };

/// Number against number or string against string (bytewise); any other
/// pair of types is false.
class compares final : public value_test {
public:
  compares(order op, value bound) : op_(op), bound_(std::move(bound)) {}

private:
  bool test(const value& v) const noexcept override {
    bool comparable =
        (v.is_number() && bound_.is_number()) || (v.is_string() && bound_.is_string());
    if (!comparable) return false;
    switch (op_) {
    case order::gt:
      return v > bound_;
    case order::gte:
      return v >= bound_;
    case order::lt:
      return v < bound_;
    case order::lte:
      return v <= bound_;
    }
    return false;
  }
  order op_;
  value bound_;
};

class one_of final : public value_test {
public:
  explicit one_of(value choices) : choices_(std::move(choices)) {}

private:
  bool test(const value& v) const noexcept override {
    return std::any_of(choices_.begin(), choices_.end(), [&](const value& c) { return v == c; });
  }
  value choices_; ///< a list
};

class regex_search final : public value_test {
public:
  explicit regex_search(std::regex re) : re_(std::move(re)) {}

private:
  bool test(const value& v) const noexcept override {
    if (!v.is_string()) return false;
    const auto& text = v.get_ref<const std::string&>();
    if (text.size() > max_regex_subject) return false;
    try {
      return std::regex_search(text, re_);
    } catch (...) { // the standard allows error_complexity and error_stack: no match
      return false;
    }
  }
  std::regex re_;
};

/// `$all`: every wanted value equals the header or one of its elements.
class contains_all final : public condition {
public:
  explicit contains_all(value wanted) : wanted_(std::move(wanted)) {}
  bool holds(const value* h) const noexcept override {
    return h && std::all_of(wanted_.begin(), wanted_.end(), [h](const value& w) {
             return *h == w || any_element(*h, [&](const value& e) { return e == w; });
           });
  }

private:
  value wanted_; ///< a non-empty list
};

class has_size final : public condition {
public:
  explicit has_size(std::size_t size) : size_(size) {}
  bool holds(const value* h) const noexcept override {
    return h && h->is_array() && h->size() == size_;
  }

private:
  std::size_t size_;
};

class exists final : public condition {
public:
  explicit exists(bool wanted) : wanted_(wanted) {}
  bool holds(const value* h) const noexcept override { return (h != nullptr) == wanted_; }

private:
  bool wanted_;
};

class negation final : public condition {
public:
  explicit negation(condition_ptr inner) : inner_(std::move(inner)) {}
  bool holds(const value* h) const noexcept override { return !inner_->holds(h); }

private:
  condition_ptr inner_;
};

class junction final : public condition {
public:
  junction(combinator kind, std::vector<condition_ptr> parts)
      : kind_(kind), parts_(std::move(parts)) {}
  bool holds(const value* h) const noexcept override {
    return combine(kind_, parts_, [h](const condition_ptr& c) { return c->holds(h); });
  }

private:
  combinator kind_;
  std::vector<condition_ptr> parts_;
};

/// `$elemMatch` with operators: some element of a list header satisfies them.
class element_satisfies final : public condition {
public:
  explicit element_satisfies(condition_ptr per_element) : per_element_(std::move(per_element)) {}
  bool holds(const value* h) const noexcept override {
    return h && any_element(*h, [this](const value& e) { return per_element_->holds(&e); });
  }

private:
  condition_ptr per_element_;
};

/// `$elemMatch` with a sub-rule: some object element of a list header matches it.
class element_matches final : public condition {
public:
  explicit element_matches(rule sub_rule) : sub_rule_(std::move(sub_rule)) {}
  bool holds(const value* h) const noexcept override {
    return h && any_element(*h, [this](const value& e) {
             return e.is_object() && sub_rule_.evaluate(e) == verdict::match;
           });
  }

private:
  rule sub_rule_;
};

// -- compiling operators ------------------------------------------------------

/// One operator of an operator object, as its compiler sees it.
struct operator_args {
  const std::string& op;
  const value& operand;
  const value& object; ///< the whole operator object: `$regex` reads `$options` from it
  const std::string& where;

  error fail(const std::string& what) const {
    return invalid_filter(where, quote(op) + " " + what);
  }
  std::string inner(const std::string& suffix = {}) const { return where + ", " + op + suffix; }
};

/// Returns the operator's condition, or nullptr for `$options`, which only
/// modifies `$regex`.
using operator_compiler = expected<condition_ptr> (*)(const operator_args&);

expected<condition_ptr> compile_operators(const value& object, const std::string& where);

expected<condition_ptr> compile_eq(const operator_args& a) {
  return make<equals>(a.operand);
}

expected<condition_ptr> compile_ne(const operator_args& a) {
  return make<negation>(make<equals>(a.operand));
}

expected<condition_ptr> compile_order(const operator_args& a) {
  if (!a.operand.is_number() && !a.operand.is_string()) return a.fail("needs a number or a string");
  auto op = a.op == "$gt"    ? order::gt
            : a.op == "$gte" ? order::gte
            : a.op == "$lt"  ? order::lt
                             : order::lte;
  return make<compares>(op, a.operand);
}

expected<condition_ptr> compile_in(const operator_args& a) {
  if (!a.operand.is_array()) return a.fail("needs a list");
  auto in = make<one_of>(a.operand);
  return a.op == "$in" ? std::move(in) : make<negation>(std::move(in));
}

expected<condition_ptr> compile_all(const operator_args& a) {
  if (!a.operand.is_array()) return a.fail("needs a list");
  if (a.operand.empty()) return a.fail("needs a non-empty list");
  return make<contains_all>(a.operand);
}

expected<condition_ptr> compile_size(const operator_args& a) {
  bool ok = a.operand.is_number_unsigned() ||
            (a.operand.is_number_integer() && a.operand.get<std::int64_t>() >= 0);
  if (!ok) return a.fail("needs a non-negative integer");
  return make<has_size>(a.operand.get<std::size_t>());
}

expected<condition_ptr> compile_exists(const operator_args& a) {
  if (!a.operand.is_boolean()) return a.fail("needs true or false");
  return make<exists>(a.operand.get<bool>());
}

expected<condition_ptr> compile_regex_op(const operator_args& a) {
  if (!a.operand.is_string()) return a.fail("needs a string");
  auto options = a.object.find("$options");
  std::string flags;
  if (options != a.object.end()) {
    if (!options->is_string()) return invalid_filter(a.where, "\"$options\" needs a string");
    flags = options->get<std::string>();
  }
  auto re = compile_regex(a.operand.get<std::string>(), flags);
  if (!re) return invalid_filter(a.where, re.error().message);
  return make<regex_search>(std::move(*re));
}

expected<condition_ptr> compile_options(const operator_args& a) {
  if (!a.object.contains("$regex")) return a.fail("needs \"$regex\" beside it");
  return condition_ptr{};
}

expected<condition_ptr> compile_not(const operator_args& a) {
  auto inner = compile_condition(a.operand, a.inner());
  if (!inner) return inner.error();
  return make<negation>(std::move(*inner));
}

expected<condition_ptr> compile_junction(const operator_args& a) {
  if (!a.operand.is_array() || a.operand.empty())
    return a.fail("needs a non-empty list of conditions");
  std::vector<condition_ptr> parts;
  for (std::size_t i = 0; i < a.operand.size(); ++i) {
    auto part = compile_condition(a.operand[i], a.inner("[" + std::to_string(i) + "]"));
    if (!part) return part.error();
    parts.push_back(std::move(*part));
  }
  return make<junction>(*combinator_named(a.op), std::move(parts));
}

/// True if `v` is an object with a key for which `pred` holds.
template <class Pred> bool any_key(const value& v, const Pred& pred) {
  if (!v.is_object()) return false;
  for (const auto& [key, _] : v.items())
    if (pred(key)) return true;
  return false;
}

/// An operator that applies to a value: all but `$and`, `$or`, `$nor`, which
/// may also combine sub-rules.
bool is_value_operator(std::string_view key) {
  return is_operator(key) && !combinator_named(key);
}

expected<condition_ptr> compile_elem_match(const operator_args& a) {
  if (!a.operand.is_object()) return a.fail("needs an object of operators or a sub-rule");
  // As in MongoDB: operators for each element if there is a value operator,
  // else a sub-rule for object elements.
  if (any_key(a.operand, is_value_operator)) {
    auto per_element = compile_operators(a.operand, a.inner());
    if (!per_element) return per_element.error();
    return make<element_satisfies>(std::move(*per_element));
  }
  auto sub_rule = rule::compile(a.operand, a.inner(), string_mode::literal);
  if (!sub_rule) return sub_rule.error();
  return make<element_matches>(std::move(*sub_rule));
}

struct operator_entry {
  std::string_view name;
  operator_compiler compile;
};

constexpr operator_entry operators[] = {
    {"$eq", compile_eq},           {"$ne", compile_ne},         {"$gt", compile_order},
    {"$gte", compile_order},       {"$lt", compile_order},      {"$lte", compile_order},
    {"$in", compile_in},           {"$nin", compile_in},        {"$all", compile_all},
    {"$size", compile_size},       {"$exists", compile_exists}, {"$regex", compile_regex_op},
    {"$options", compile_options}, {"$not", compile_not},       {"$and", compile_junction},
    {"$or", compile_junction},     {"$nor", compile_junction},  {"$elemMatch", compile_elem_match},
};

operator_compiler find_operator(std::string_view name) {
  for (const auto& entry : operators)
    if (entry.name == name) return entry.compile;
  return nullptr;
}

/// An object whose keys are all operators; all of them must hold.
expected<condition_ptr> compile_operators(const value& object, const std::string& where) {
  std::vector<condition_ptr> parts;
  for (const auto& [key, operand] : object.items()) {
    if (!is_operator(key))
      return invalid_filter(where, "operators mixed with the plain key " + quote(key) +
                                       " (write {\"$eq\": {...}} to compare with an object)");
    auto compile = find_operator(key);
    if (!compile) return invalid_filter(where, "unknown operator " + quote(key));
    auto part = compile(operator_args{key, operand, object, where});
    if (!part) return part.error();
    if (*part) parts.push_back(std::move(*part));
  }
  if (parts.size() == 1) return std::move(parts.front());
  return make<junction>(combinator::all, std::move(parts));
}

} // namespace

expected<condition_ptr> compile_condition(const value& operand, const std::string& where) {
  if (any_key(operand, is_operator)) return compile_operators(operand, where);
  return make<equals>(operand);
}

std::optional<combinator> combinator_named(std::string_view key) {
  if (key == "$and") return combinator::all;
  if (key == "$or") return combinator::any;
  if (key == "$nor") return combinator::none;
  return std::nullopt;
}

error invalid_filter(const std::string& where, const std::string& what) {
  return make_error(errc::invalid_input, where + ": " + what);
}

std::string quote(std::string_view text) {
  return value(text).dump(-1, ' ', false, value::error_handler_t::replace);
}

} // namespace sy::filter
