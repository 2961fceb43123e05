// example.consumers.tagger: tags every task it gets and passes it on as a
// child task with headers {type = "tagged", tag = <tag>} and the parent's
// payload, for whatever consumer binds to tagged tasks.
//
// config keys:
//   tag  string, required
#include <switchyard/plugin.hpp>

namespace {

class tagger final : public sy::consumer {
public:
  explicit tagger(std::string tag) : tag_(std::move(tag)) {}

  sy::expected<void> process(const sy::task& t, sy::consumer_context& ctx) override {
    ctx.log(sy::log_level::info, "tagging as " + tag_);
    ctx.send_child({{"type", "tagged"}, {"tag", tag_}}, t.payload);
    return {};
  }

private:
  std::string tag_;
};

sy::expected<std::string> tag_of(const sy::value& config) {
  if (!config.is_object() || !config.contains("tag") || !config["tag"].is_string() ||
      config["tag"].get<std::string>().empty())
    return sy::make_error(sy::errc::config,
                          "example.consumers.tagger: key \"tag\": a non-empty string is required");
  return config["tag"].get<std::string>();
}

sy::plugin::factories make() {
  sy::plugin::factories f;
  f.consumers.push_back({
      "example.consumers.tagger",
      [](const sy::value& config) -> sy::expected<void> {
        if (auto tag = tag_of(config); !tag) return tag.error();
        return {};
      },
      [](const sy::value& config) -> sy::expected<std::unique_ptr<sy::consumer>> {
        auto tag = tag_of(config);
        if (!tag) return tag.error();
        return std::make_unique<tagger>(std::move(*tag));
      },
  });
  return f;
}

} // namespace

SWITCHYARD_PLUGIN(make)
