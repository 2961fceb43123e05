#include "runtime/filter/condition.hpp"

#include "runtime/filter/glob.hpp"

#include <regex>

namespace sy::filter {

namespace {

// -- conditions ---------------------------------------------------------------

/// A test on a present value; on a list, the list as a whole or any element
/// may satisfy it (MongoDB's rule) when `list_any` is set.
struct value_test : condition {
  bool list_any = true;
  virtual bool test(const value& v) const = 0;
  bool holds(const value* h) const override {
    if (!h) return false;
    if (test(*h)) return true;
    if (list_any && h->is_array())
      for (const auto& e : *h)
        if (test(e)) return true;
    return false;
  }
};

/// JSON equality: 1 == 1.0, true != 1, "1" != 1.
struct equals : value_test {
  value expected_value;
  explicit equals(value v) : expected_value(std::move(v)) {}
  bool test(const value& v) const override { return v == expected_value; }
};

enum class order { gt, gte, lt, lte };

/// Ordering between two numbers or two strings; other pairs are false.
struct compares : value_test {
  order op;
  value bound;
  compares(order o, value b) : op(o), bound(std::move(b)) {}
  bool test(const value& v) const override {
    bool numbers = v.is_number() && bound.is_number();
    bool strings = v.is_string() && bound.is_string();
    if (!numbers && !strings) return false;
    switch (op) {
    case order::gt:
      return v > bound;
    case order::gte:
      return v >= bound;
    case order::lt:
      return v < bound;
    case order::lte:
      return v <= bound;
    }
    return false;
  }
};

struct one_of : value_test {
  value choices; // an array
  explicit one_of(value c) : choices(std::move(c)) {}
  bool test(const value& v) const override {
    for (const auto& c : choices)
      if (v == c) return true;
    return false;
  }
};

/// `$all`: every listed value is an element of the header (or equals it).
struct contains_all : value_test {
  value wanted; // a non-empty array
  explicit contains_all(value w) : wanted(std::move(w)) { list_any = false; }
  bool test(const value& v) const override {
    for (const auto& w : wanted) {
      bool found = v == w;
      if (!found && v.is_array())
        for (const auto& e : v)
          found = found || e == w;
      if (!found) return false;
    }
    return true;
  }
};

struct has_size : value_test {
  std::size_t size;
  explicit has_size(std::size_t n) : size(n) { list_any = false; }
  bool test(const value& v) const override { return v.is_array() && v.size() == size; }
};

struct regex_search : value_test {
  std::regex re;
  explicit regex_search(std::regex r) : re(std::move(r)) {}
  bool test(const value& v) const override {
    return v.is_string() && std::regex_search(v.get_ref<const std::string&>(), re);
  }
};

struct exists : condition {
  bool wanted;
  explicit exists(bool w) : wanted(w) {}
  bool holds(const value* h) const override { return (h != nullptr) == wanted; }
};

struct negation : condition {
  condition_ptr inner;
  explicit negation(condition_ptr c) : inner(std::move(c)) {}
  bool holds(const value* h) const override { return !inner->holds(h); }
};

struct junction : condition {
  combinator kind;
  std::vector<condition_ptr> parts;
  bool holds(const value* h) const override {
    for (const auto& p : parts) {
      bool ok = p->holds(h);
      if (kind == combinator::all && !ok) return false;
      if (kind == combinator::any && ok) return true;
      if (kind == combinator::none && ok) return false;
    }
    return kind != combinator::any;
  }
};

/// `$elemMatch`: some element of a list header satisfies `per_element`
/// (operators) or, for object elements, `sub_rule`.
struct element_match : condition {
  condition_ptr per_element;
  std::shared_ptr<const rule> sub_rule;
  bool holds(const value* h) const override {
    if (!h || !h->is_array()) return false;
    for (const auto& e : *h) {
      if (per_element ? per_element->holds(&e) : (e.is_object() && sub_rule->matches(e)))
        return true;
    }
    return false;
  }
};

/// Karton's top-level string condition (DESIGN §2.3).
struct karton_text : condition {
  std::string text;
  bool present_only;
  bool glob;
  explicit karton_text(std::string t)
      : text(std::move(t)), present_only(text == "*"), glob(is_glob(text)) {}
  bool holds(const value* h) const override {
    if (!h) return false;
    if (present_only) return true;
    if (h->is_string())
      return glob ? glob_match(text, h->get_ref<const std::string&>())
                  : h->get_ref<const std::string&>() == text;
    if (glob || h->is_object() || h->is_binary()) return false;
    if (h->is_array()) {
      for (const auto& e : *h)
        if (e.is_string() && e.get_ref<const std::string&>() == text) return true;
      return false;
    }
    return h->dump() == text; // 20 → "20", true → "true"
  }
};

// -- compiling ----------------------------------------------------------------

error invalid(const std::string& where, const std::string& what) {
  return make_error(errc::invalid_input, where + ": " + what);
}

bool is_operator(const std::string& key) {
  return !key.empty() && key[0] == '$';
}

/// Translates JavaScript-style flags into std::regex options; `s` (dotall)
/// is emulated by rewriting `.` outside character classes.
expected<std::regex> make_regex(std::string pattern, const std::string& flags,
                                const std::string& where) {
  auto opts = std::regex::ECMAScript;
  for (char f : flags) {
    if (f == 'i') {
      opts |= std::regex::icase;
    } else if (f == 'm') {
      opts |= std::regex::multiline;
    } else if (f == 's') {
      std::string out;
      bool in_class = false;
      for (size_t i = 0; i < pattern.size(); ++i) {
        char c = pattern[i];
        if (c == '\\' && i + 1 < pattern.size()) {
          out += c;
          out += pattern[++i];
          continue;
        }
        if (c == '[')
          in_class = true;
        else if (c == ']')
          in_class = false;
        out += (c == '.' && !in_class) ? std::string{"[\\s\\S]"} : std::string(1, c);
      }
      pattern = std::move(out);
    } else {
      return invalid(where, std::string{"unknown regex flag \""} + f + "\" (use i, m, s)");
    }
  }
  try {
    return std::regex{pattern, opts};
  } catch (const std::regex_error& e) {
    return invalid(where, "invalid regular expression \"" + pattern + "\": " + e.what());
  }
}

/// `$regex` with a string "pattern" or "/pattern/flags", plus `$options`.
expected<condition_ptr> compile_regex(const value& operand, const value* options,
                                      const std::string& where) {
  if (!operand.is_string()) return invalid(where, "\"$regex\" needs a string");
  std::string pattern = operand.get<std::string>();
  std::string flags;
  auto last = pattern.rfind('/');
  if (pattern.size() >= 2 && pattern[0] == '/' && last > 0) {
    flags = pattern.substr(last + 1);
    pattern = pattern.substr(1, last - 1);
  }
  if (options) {
    if (!options->is_string()) return invalid(where, "\"$options\" needs a string");
    flags += options->get<std::string>();
  }
  auto re = make_regex(pattern, flags, where);
  if (!re) return re.error();
  return condition_ptr{std::make_shared<regex_search>(std::move(*re))};
}

expected<condition_ptr> compile_list(combinator kind, const value& operand,
                                     const std::string& where, const std::string& op) {
  if (!operand.is_array() || operand.empty())
    return invalid(where, "\"" + op + "\" needs a non-empty list of conditions");
  auto j = std::make_shared<junction>();
  j->kind = kind;
  for (const auto& c : operand) {
    auto part = compile_operand(c, where);
    if (!part) return part.error();
    j->parts.push_back(std::move(*part));
  }
  return condition_ptr{j};
}

expected<condition_ptr> compile_elem_match(const value& operand, const std::string& where) {
  if (!operand.is_object()) return invalid(where, "\"$elemMatch\" needs an object");
  auto m = std::make_shared<element_match>();
  bool operators = !operand.empty() && is_operator(operand.begin().key());
  if (operators) {
    auto c = compile_operand(operand, where + " $elemMatch");
    if (!c) return c.error();
    m->per_element = std::move(*c);
  } else {
    auto r = compile_rule(operand, where + " $elemMatch", true);
    if (!r) return r.error();
    m->sub_rule = std::make_shared<rule>(std::move(*r));
  }
  return condition_ptr{m};
}

expected<condition_ptr> compile_operator(const std::string& op, const value& operand,
                                         const value& siblings, const std::string& where) {
  auto need_list = [&]() -> expected<void> {
    if (!operand.is_array()) return invalid(where, "\"" + op + "\" needs a list");
    return {};
  };
  if (op == "$eq") return condition_ptr{std::make_shared<equals>(operand)};
  if (op == "$ne")
    return condition_ptr{std::make_shared<negation>(std::make_shared<equals>(operand))};
  if (op == "$gt" || op == "$gte" || op == "$lt" || op == "$lte") {
    if (!operand.is_number() && !operand.is_string())
      return invalid(where, "\"" + op + "\" needs a number or a string");
    auto o = op == "$gt"    ? order::gt
             : op == "$gte" ? order::gte
             : op == "$lt"  ? order::lt
                            : order::lte;
    return condition_ptr{std::make_shared<compares>(o, operand)};
  }
  if (op == "$in" || op == "$nin") {
    if (auto r = need_list(); !r) return r.error();
    condition_ptr in = std::make_shared<one_of>(operand);
    return op == "$in" ? in : condition_ptr{std::make_shared<negation>(in)};
  }
  if (op == "$all") {
    if (auto r = need_list(); !r) return r.error();
    if (operand.empty()) return invalid(where, "\"$all\" needs a non-empty list");
    return condition_ptr{std::make_shared<contains_all>(operand)};
  }
  if (op == "$size") {
    if (!operand.is_number_integer() || operand.get<std::int64_t>() < 0)
      return invalid(where, "\"$size\" needs a non-negative integer");
    return condition_ptr{std::make_shared<has_size>(operand.get<std::size_t>())};
  }
  if (op == "$exists") {
    if (!operand.is_boolean()) return invalid(where, "\"$exists\" needs true or false");
    return condition_ptr{std::make_shared<exists>(operand.get<bool>())};
  }
  if (op == "$regex") {
    auto i = siblings.find("$options");
    return compile_regex(operand, i == siblings.end() ? nullptr : &*i, where);
  }
  if (op == "$not") {
    auto inner = compile_operand(operand, where);
    if (!inner) return inner.error();
    return condition_ptr{std::make_shared<negation>(std::move(*inner))};
  }
  if (op == "$and") return compile_list(combinator::all, operand, where, op);
  if (op == "$or") return compile_list(combinator::any, operand, where, op);
  if (op == "$nor") return compile_list(combinator::none, operand, where, op);
  if (op == "$elemMatch") return compile_elem_match(operand, where);
  return invalid(where, "unknown operator \"" + op + "\"");
}

/// An object of operators, all of which must hold.
expected<condition_ptr> compile_operators(const value& object, const std::string& where) {
  auto all = std::make_shared<junction>();
  all->kind = combinator::all;
  for (const auto& [key, operand] : object.items()) {
    if (!is_operator(key))
      return invalid(where, "\"" + key + "\" mixed with operators; use only $-operators here");
    if (key == "$options") {
      if (!object.contains("$regex")) return invalid(where, "\"$options\" without \"$regex\"");
      continue;
    }
    auto c = compile_operator(key, operand, object, where);
    if (!c) return c.error();
    all->parts.push_back(std::move(*c));
  }
  if (all->parts.size() == 1) return all->parts.front();
  return condition_ptr{all};
}

bool has_operator_key(const value& v) {
  if (!v.is_object()) return false;
  for (const auto& [key, _] : v.items())
    if (is_operator(key)) return true;
  return false;
}

} // namespace

condition_ptr karton_string(std::string text) {
  return std::make_shared<karton_text>(std::move(text));
}

expected<condition_ptr> compile_operand(const value& operand, const std::string& where) {
  if (has_operator_key(operand)) return compile_operators(operand, where);
  return condition_ptr{std::make_shared<equals>(operand)};
}

bool rule::positives_hold(const value& headers) const {
  for (const auto& check : positives) {
    auto i = headers.find(check.header);
    if (!check.cond->holds(i == headers.end() ? nullptr : &*i)) return false;
  }
  for (const auto& g : groups) {
    bool any = false, all = true;
    for (const auto& r : g.rules) {
      bool m = r.matches(headers);
      any = any || m;
      all = all && m;
    }
    bool ok = g.kind == combinator::all ? all : g.kind == combinator::any ? any : !any;
    if (!ok) return false;
  }
  return true;
}

namespace {

bool any_negative_pattern_holds(const rule& r, const value& headers) {
  for (const auto& check : r.negatives) {
    auto i = headers.find(check.header);
    if (check.cond->holds(i == headers.end() ? nullptr : &*i)) return true;
  }
  return false;
}

} // namespace

bool rule::matches(const value& headers) const {
  return positives_hold(headers) && !any_negative_pattern_holds(*this, headers);
}

bool rule::vetoes(const value& headers) const {
  return !negatives.empty() && positives_hold(headers) &&
         any_negative_pattern_holds(*this, headers);
}

expected<rule> compile_rule(const value& object, const std::string& where, bool literal) {
  if (!object.is_object()) return invalid(where, "a rule must be an object of header conditions");
  rule r;
  for (const auto& [header, cond] : object.items()) {
    auto here = where + ", header \"" + header + "\"";
    if (header == "$and" || header == "$or" || header == "$nor") {
      if (!cond.is_array() || cond.empty())
        return invalid(where, "\"" + header + "\" needs a non-empty list of rules");
      rule::group g{header == "$and"  ? combinator::all
                    : header == "$or" ? combinator::any
                                      : combinator::none,
                    {}};
      for (std::size_t i = 0; i < cond.size(); ++i) {
        auto sub =
            compile_rule(cond[i], where + " " + header + "[" + std::to_string(i) + "]", literal);
        if (!sub) return sub.error();
        g.rules.push_back(std::move(*sub));
      }
      r.groups.push_back(std::move(g));
      continue;
    }
    if (is_operator(header))
      return invalid(where, "unknown operator \"" + header +
                                "\" (a rule's top level allows "
                                "header names and $and, $or, $nor)");
    if (cond.is_string() && !literal) {
      const auto& text = cond.get_ref<const std::string&>();
      if (!text.empty() && text[0] == '!')
        r.negatives.push_back({header, karton_string(text.substr(1))});
      else
        r.positives.push_back({header, karton_string(text)});
      continue;
    }
    auto c = compile_operand(cond, here);
    if (!c) return c.error();
    r.positives.push_back({header, std::move(*c)});
  }
  return r;
}

} // namespace sy::filter
