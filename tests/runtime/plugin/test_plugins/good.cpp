// A working plugin: a consumer that tags its task and a ranker that prefers
// low priority (the reverse of Karton's order).
#include "runtime/plugin/abi.hpp"

namespace {

class tagger final : public sy::consumer {
public:
  explicit tagger(std::string tag) : tag_(std::move(tag)) {}
  sy::expected<void> process(const sy::task&, sy::consumer_context& ctx) override {
    ctx.log(sy::log_level::info, "tagged " + tag_);
    return {};
  }

private:
  std::string tag_;
};

class reverse final : public sy::ranker {
public:
  double score(const sy::task& t, const sy::rank_context&) const override {
    return -static_cast<double>(t.priority);
  }
};

sy::expected<void> validate_tagger(const sy::value& config) {
  if (config.contains("tag") && !config["tag"].is_string())
    return sy::make_error(sy::errc::config,
                          "test.consumers.tagger: key \"tag\": expected a string");
  return {};
}

sy::plugin::factories make() {
  sy::plugin::factories f;
  f.consumers.push_back(
      {"test.consumers.tagger", validate_tagger,
       [](const sy::value& config) -> sy::expected<std::unique_ptr<sy::consumer>> {
         return std::make_unique<tagger>(config.value("tag", "none"));
       }});
  f.rankers.push_back({"test.rankers.reverse", nullptr,
                       [](const sy::value&) -> sy::expected<std::unique_ptr<sy::ranker>> {
                         return std::make_unique<reverse>();
                       }});
  return f;
}

} // namespace

SWITCHYARD_PLUGIN(make)
