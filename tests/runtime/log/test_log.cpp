#define CAF_SUITE runtime.log
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/log/log.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <sstream>

CAF_TEST(one named logger per subsystem) {
  auto a = sy::log::get("router");
  CAF_CHECK_EQUAL(a->name(), "router");
  CAF_CHECK(a == sy::log::get("router"));
  CAF_CHECK(a != sy::log::get("broker"));
}

CAF_TEST(levels apply to existing and later loggers with per subsystem overrides) {
  auto early = sy::log::get("early");
  sy::log::setup({spdlog::level::warn, {{"late", spdlog::level::debug}}});
  CAF_CHECK_EQUAL(early->level(), spdlog::level::warn);
  CAF_CHECK_EQUAL(sy::log::get("late")->level(), spdlog::level::debug);
  CAF_CHECK_EQUAL(sy::log::get("other")->level(), spdlog::level::warn);
}

CAF_TEST(added sinks receive every logger output) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sy::log::setup({spdlog::level::info, {}});
  sy::log::add_sink(sink);
  sy::log::get("worker")->info("task {} finished", "u1");
  sy::log::get("worker")->debug("hidden");
  sy::log::remove_sink(sink);
  sy::log::get("worker")->info("after removal");
  auto text = out.str();
  CAF_CHECK(text.find("task u1 finished") != std::string::npos);
  CAF_CHECK(text.find("hidden") == std::string::npos);
  CAF_CHECK(text.find("after removal") == std::string::npos);
}

CAF_TEST(level names parse exactly) {
  CAF_CHECK(sy::log::parse_level("debug") == spdlog::level::debug);
  CAF_CHECK(sy::log::parse_level("error") == spdlog::level::err);
  CAF_CHECK(!sy::log::parse_level("loud"));
  CAF_CHECK(!sy::log::parse_level("DEBUG"));
}

CAF_TEST(level names read back as levels) {
  using namespace spdlog::level;
  for (auto level : {trace, debug, info, warn, err, critical, off})
    CAF_CHECK(sy::log::parse_level(sy::log::level_name(level)) == level);
  CAF_CHECK_EQUAL(sy::log::level_name(warn), "warn"); // not spdlog's "warning"
  CAF_CHECK_EQUAL(sy::log::level_name(err), "error");
}
