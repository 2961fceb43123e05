#include "runtime/plugin/registry.hpp"

namespace sy::plugin {

namespace {

template <class T>
expected<void> add_to(std::map<std::string, factory<T>>& to, factory<T> f, const char* kind) {
  if (f.name.empty() || !f.create)
    return make_error(errc::plugin, std::string{"a "} + kind + " factory from " + f.origin +
                                        " has no name or no create function");
  auto [i, added] = to.emplace(f.name, f);
  if (!added)
    return make_error(errc::plugin, std::string{kind} + " \"" + f.name + "\" from " + f.origin +
                                        " is already provided by " + i->second.origin);
  return {};
}

template <class T>
const factory<T>* find_in(const std::map<std::string, factory<T>>& in, const std::string& name) {
  auto i = in.find(name);
  return i == in.end() ? nullptr : &i->second;
}

template <class T> std::string names_of(const std::map<std::string, factory<T>>& in) {
  std::string out;
  for (const auto& [name, _] : in)
    out += (out.empty() ? "" : ", ") + name;
  return out;
}

template <class T>
expected<void> check_new(const std::map<std::string, factory<T>>& in,
                         const std::vector<factory<T>>& fs, const char* kind) {
  std::map<std::string, factory<T>> scratch = in;
  for (const auto& f : fs)
    if (auto r = add_to(scratch, f, kind); !r) return r;
  return {};
}

} // namespace

expected<void> registry::add(consumer_factory f) {
  return add_to(consumers_, std::move(f), "consumer");
}

expected<void> registry::add(ranker_factory f) {
  return add_to(rankers_, std::move(f), "ranker");
}

expected<void> registry::add(scheduler_factory f) {
  return add_to(schedulers_, std::move(f), "scheduler");
}

expected<void> registry::add(const factories& all) {
  if (auto r = check_new(consumers_, all.consumers, "consumer"); !r) return r;
  if (auto r = check_new(rankers_, all.rankers, "ranker"); !r) return r;
  if (auto r = check_new(schedulers_, all.schedulers, "scheduler"); !r) return r;
  for (const auto& f : all.consumers)
    (void)add(f);
  for (const auto& f : all.rankers)
    (void)add(f);
  for (const auto& f : all.schedulers)
    (void)add(f);
  return {};
}

const consumer_factory* registry::find_consumer(const std::string& name) const {
  return find_in(consumers_, name);
}

const ranker_factory* registry::find_ranker(const std::string& name) const {
  return find_in(rankers_, name);
}

const scheduler_factory* registry::find_scheduler(const std::string& name) const {
  return find_in(schedulers_, name);
}

std::string registry::consumer_names() const {
  return names_of(consumers_);
}

std::string registry::ranker_names() const {
  return names_of(rankers_);
}

std::string registry::scheduler_names() const {
  return names_of(schedulers_);
}

} // namespace sy::plugin
