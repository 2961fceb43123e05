#include "runtime/scheduling/rankers.hpp"

#include "runtime/config/duration.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace sy::scheduling {

namespace {

double priority_class(const task& t) {
  return static_cast<double>(t.priority); // low 0, normal 1, high 2
}

class priority_ranker final : public ranker {
public:
  double score(const task& t, const rank_context&) const override { return priority_class(t); }
};

class age_ranker final : public ranker {
public:
  explicit age_ranker(double aging_seconds) : aging_(aging_seconds) {}
  double score(const task& t, const rank_context& ctx) const override {
    return priority_class(t) - ctx.queued_at / aging_;
  }

private:
  double aging_;
};

class grace_period_ranker final : public ranker {
public:
  grace_period_ranker(double grace, double horizon) : grace_(grace), horizon_(horizon) {}
  double score(const task&, const rank_context& ctx) const override {
    if (!ctx.since_last_run) return 3;
    auto elapsed = std::floor(std::max(0.0, *ctx.since_last_run));
    if (elapsed >= grace_) return 2;
    return std::min(elapsed / horizon_, std::nextafter(1.0, 0.0));
  }
  bool uses_last_run() const override { return true; }

private:
  double grace_;
  double horizon_;
};

/// Reads the config of ranker `name`: a table whose keys are all in
/// `durations` (positive durations, in seconds, defaults given).
expected<std::map<std::string, double>> read_durations(const std::string& name, const value& config,
                                                       std::map<std::string, double> durations) {
  if (config.is_null()) return durations;
  if (!config.is_object()) return make_error(errc::config, name + ": config must be a table");
  for (const auto& [key, v] : config.items()) {
    if (durations.count(key) == 0) {
      std::string known;
      for (const auto& [k, _] : durations)
        known += (known.empty() ? "" : ", ") + k;
      return make_error(errc::config,
                        name + ": unknown key \"" + key + "\"" +
                            (known.empty() ? " (it takes no config)" : " (known: " + known + ")"));
    }
    auto d = v.is_string() ? config::parse_duration(v.get<std::string>()) : std::nullopt;
    if (!d || d->count() <= 0)
      return make_error(errc::config, name + ": key \"" + key +
                                          "\": expected a positive duration such as \"30s\", got " +
                                          v.dump());
    durations[key] = d->count() / 1000.0;
  }
  return durations;
}

} // namespace

expected<std::unique_ptr<ranker>> make_ranker(const std::string& name, const value& config) {
  if (name == "sy.rankers.priority") {
    if (auto r = read_durations(name, config, {}); !r) return r.error();
    return std::unique_ptr<ranker>(new priority_ranker);
  }
  if (name == "sy.rankers.age") {
    auto d = read_durations(name, config, {{"aging", 60}});
    if (!d) return d.error();
    return std::unique_ptr<ranker>(new age_ranker(d->at("aging")));
  }
  if (name == "sy.rankers.grace_period") {
    auto d = read_durations(name, config, {{"grace_period", 86400}, {"horizon", 0}});
    if (!d) return d.error();
    auto grace = d->at("grace_period");
    auto horizon = d->at("horizon") > 0 ? d->at("horizon") : grace;
    return std::unique_ptr<ranker>(new grace_period_ranker(grace, horizon));
  }
  return make_error(
      errc::not_found,
      "unknown ranker \"" + name +
          "\" (built-in: sy.rankers.priority, sy.rankers.age, sy.rankers.grace_period)");
}

} // namespace sy::scheduling
