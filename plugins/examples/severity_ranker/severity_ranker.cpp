// example.rankers.severity: runs the most severe findings first. A task's
// score is its priority class times `class_weight` plus its "severity"
// header (a number, 0 when absent), so severity orders tasks inside a class
// unless the weight is small enough to let it cross classes.
//
// config keys:
//   class_weight  number > 0 (default 100)
#include <switchyard/plugin.hpp>

namespace {

class severity_ranker final : public sy::ranker {
public:
  explicit severity_ranker(double class_weight) : class_weight_(class_weight) {}

  double score(const sy::task& t, const sy::rank_context&) const override {
    auto severity = t.headers.value("severity", 0.0);
    return static_cast<double>(t.priority) * class_weight_ + severity;
  }

private:
  double class_weight_;
};

sy::expected<double> class_weight(const sy::value& config) {
  if (config.is_null() || !config.contains("class_weight")) return 100.0;
  const auto& w = config["class_weight"];
  if (!w.is_number() || w.get<double>() <= 0)
    return sy::make_error(sy::errc::config,
                          "example.rankers.severity: key \"class_weight\": expected a number > 0");
  return w.get<double>();
}

sy::plugin::factories make() {
  sy::plugin::factories f;
  f.rankers.push_back({
      "example.rankers.severity",
      [](const sy::value& config) -> sy::expected<void> {
        if (auto w = class_weight(config); !w) return w.error();
        return {};
      },
      [](const sy::value& config) -> sy::expected<std::unique_ptr<sy::ranker>> {
        auto w = class_weight(config);
        if (!w) return w.error();
        return std::make_unique<severity_ranker>(*w);
      },
  });
  return f;
}

} // namespace

SWITCHYARD_PLUGIN(make)
