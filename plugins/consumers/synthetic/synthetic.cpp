// sy.consumers.synthetic: a consumer for tests, benchmarks, simulations and
// the quickstart. It sleeps for a service time, crashes with a probability,
// and emits the configured child tasks. sy.consumers.noop does nothing.
//
// config keys:
//   service_time_ms    number >= 0, mean service time (default 0)
//   distribution       "fixed" | "exponential" | "uniform" (0..2*mean), default "fixed"
//   crash_probability  number in 0..1 (default 0)
//   emit               list of header tables, one child task each (default none)
//   seed               integer; default: random per worker
//   log                text written through ctx.log at info for every task, or a
//                      table level -> text (levels trace, debug, info, warn,
//                      error; written in that order) (default none)
//   read_resources     true: read every resource the payload refers to (its
//                      digest checked) before the service time; a resource
//                      that cannot be read crashes the task (default false)
//   forward_payload    true: children get the task's payload, resource
//                      references included (forwarded, not copied) (default false)
#include "runtime/plugin/builtins.hpp"

#include <algorithm>
#include <random>
#include <thread>
#include <vector>

namespace sy::plugin {

namespace {

struct synthetic_options {
  double service_time_ms = 0;
  std::string distribution = "fixed";
  double crash_probability = 0;
  value emit = value::array();
  std::optional<std::uint64_t> seed;
  bool read_resources = false;
  bool forward_payload = false;
  /// What to log for every task, by level.
  std::vector<std::pair<log_level, std::string>> log;
};

/// The levels the `log` table takes, in the order they are written.
constexpr std::pair<const char*, log_level> log_levels[] = {{"trace", log_level::trace},
                                                            {"debug", log_level::debug},
                                                            {"info", log_level::info},
                                                            {"warn", log_level::warn},
                                                            {"error", log_level::error}};

error bad_key(const std::string& key, const std::string& expected) {
  return make_error(errc::config, "sy.consumers.synthetic: key \"" + key + "\": " + expected);
}

expected<synthetic_options> parse_options(const value& config) {
  synthetic_options opts;
  if (config.is_null()) return opts;
  if (!config.is_object())
    return make_error(errc::config, "sy.consumers.synthetic: config must be a table");
  for (const auto& [key, v] : config.items()) {
    if (key == "service_time_ms") {
      if (!v.is_number() || v.get<double>() < 0) return bad_key(key, "expected a number >= 0");
      opts.service_time_ms = v.get<double>();
    } else if (key == "distribution") {
      if (!v.is_string() || (v != "fixed" && v != "exponential" && v != "uniform"))
        return bad_key(key, "expected one of fixed, exponential, uniform");
      opts.distribution = v.get<std::string>();
    } else if (key == "crash_probability") {
      if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1)
        return bad_key(key, "expected a number in 0..1");
      opts.crash_probability = v.get<double>();
    } else if (key == "emit") {
      if (!v.is_array()) return bad_key(key, "expected a list of header tables");
      for (const auto& child : v)
        if (!child.is_object()) return bad_key(key, "expected a list of header tables");
      opts.emit = v;
    } else if (key == "read_resources" || key == "forward_payload") {
      if (!v.is_boolean()) return bad_key(key, "expected true or false");
      (key == "read_resources" ? opts.read_resources : opts.forward_payload) = v.get<bool>();
    } else if (key == "seed") {
      if (!v.is_number_integer()) return bad_key(key, "expected an integer");
      opts.seed = v.get<std::uint64_t>();
    } else if (key == "log") {
      const char* expected = "expected a string or a table of level = text (levels trace, "
                             "debug, info, warn, error)";
      if (v.is_string()) {
        opts.log = {{log_level::info, v.get<std::string>()}};
        continue;
      }
      if (!v.is_object()) return bad_key(key, expected);
      for (const auto& [level, text] : v.items()) {
        auto known = std::find_if(std::begin(log_levels), std::end(log_levels),
                                  [&](const auto& l) { return level == l.first; });
        if (known == std::end(log_levels) || !text.is_string()) return bad_key(key, expected);
      }
      for (const auto& [level, l] : log_levels)
        if (v.contains(level)) opts.log.emplace_back(l, v[level].get<std::string>());
    } else {
      return make_error(errc::config, "sy.consumers.synthetic: unknown key \"" + key +
                                          "\" (known: service_time_ms, distribution, "
                                          "crash_probability, emit, seed, log, read_resources, "
                                          "forward_payload)");
    }
  }
  return opts;
}

class synthetic final : public consumer {
public:
  explicit synthetic(synthetic_options opts)
      : opts_(std::move(opts)), rng_(opts_.seed ? *opts_.seed : std::random_device{}()) {}

  expected<void> process(const task& t, consumer_context& ctx) override {
    for (const auto& [level, text] : opts_.log)
      ctx.log(level, text);
    if (opts_.read_resources) {
      for (const auto& ref : find_resources(t.payload)) {
        std::uint64_t bytes = 0;
        auto r = resource{ref, ctx}.read([&](std::string_view chunk) -> expected<void> {
          bytes += chunk.size();
          return {};
        });
        if (!r) return r.error();
        ctx.log(log_level::info, "read resource " + ref.name + " (" + std::to_string(bytes) +
                                     " bytes, " + ref.sha256 + ")");
      }
    }
    if (auto ms = service_time_ms(); ms > 0)
      std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms));
    if (opts_.crash_probability > 0 &&
        std::uniform_real_distribution<double>(0, 1)(rng_) < opts_.crash_probability)
      return make_error(errc::internal, "synthetic crash");
    for (const auto& headers : opts_.emit)
      ctx.send_child(headers, opts_.forward_payload ? t.payload : value::object());
    return {};
  }

private:
  double service_time_ms() {
    double mean = opts_.service_time_ms;
    if (mean <= 0 || opts_.distribution == "fixed") return mean;
    if (opts_.distribution == "exponential")
      return std::exponential_distribution<double>(1 / mean)(rng_);
    return std::uniform_real_distribution<double>(0, 2 * mean)(rng_);
  }

  synthetic_options opts_;
  std::mt19937_64 rng_;
};

class noop final : public consumer {
public:
  expected<void> process(const task&, consumer_context&) override { return {}; }
};

} // namespace

void add_synthetic_consumers(registry& reg) {
  consumer_factory synthetic_factory{
      "sy.consumers.synthetic",
      [](const value& config) -> expected<void> {
        auto opts = parse_options(config);
        if (!opts) return opts.error();
        return {};
      },
      [](const value& config) -> expected<std::unique_ptr<consumer>> {
        auto opts = parse_options(config);
        if (!opts) return opts.error();
        return std::unique_ptr<consumer>(std::make_unique<synthetic>(std::move(*opts)));
      },
  };
  consumer_factory noop_factory{
      "sy.consumers.noop",
      [](const value& config) -> expected<void> {
        if (!config.is_null() && !(config.is_object() && config.empty()))
          return make_error(errc::config, "sy.consumers.noop takes no config keys");
        return {};
      },
      [](const value&) -> expected<std::unique_ptr<consumer>> {
        return std::unique_ptr<consumer>(std::make_unique<noop>());
      },
  };
  // Built-in names are unique by construction.
  (void)reg.add(std::move(synthetic_factory));
  (void)reg.add(std::move(noop_factory));
}

} // namespace sy::plugin
