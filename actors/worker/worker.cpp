#include "actors/worker/worker.hpp"

#include "runtime/log/log.hpp"

#include <chrono>

namespace sy::actors {

namespace {

spdlog::level::level_enum to_spdlog(log_level level) {
  switch (level) {
  case log_level::trace:
    return spdlog::level::trace;
  case log_level::debug:
    return spdlog::level::debug;
  case log_level::info:
    return spdlog::level::info;
  case log_level::warn:
    return spdlog::level::warn;
  case log_level::error:
    return spdlog::level::err;
  }
  return spdlog::level::info;
}

class context final : public consumer_context {
public:
  context(const work_order& order, const worker_options& opts, std::vector<task>& children)
      : order_(order), opts_(opts), children_(children),
        log_(log::get("consumer." + opts.identity)) {}

  void send(task child) override { children_.push_back(std::move(child)); }

  void log(log_level level, std::string_view message) override {
    const auto& t = order_.job;
    log_->log(to_spdlog(level), "[{} {} {}] {}", t.uid, t.root_uid, opts_.identity, message);
  }

  void heartbeat() override {
    if (opts_.on_heartbeat) opts_.on_heartbeat(order_.job.uid);
  }

  bool cancelled() const override { return order_.cancelled->load(); }

  const task& current() const override { return order_.job; }

  expected<void> read_resource(const resource_ref& ref, const resource_sink& sink) override {
    if (!opts_.read_resource)
      return make_error(errc::unavailable, "this worker cannot read resources");
    return opts_.read_resource(ref, sink);
  }

private:
  const work_order& order_;
  const worker_options& opts_;
  std::vector<task>& children_;
  std::shared_ptr<spdlog::logger> log_;
};

work_result run_one(consumer& impl, const work_order& order, const worker_options& opts) {
  work_result result;
  result.uid = order.job.uid;
  context ctx{order, opts, result.children};
  auto start = std::chrono::steady_clock::now();
  try {
    if (auto r = impl.process(order.job, ctx); !r) {
      result.crashed = true;
      result.error = r.error().message;
    }
  } catch (const std::exception& e) {
    result.crashed = true;
    result.error = e.what();
  } catch (...) {
    result.crashed = true;
    result.error = "unknown exception";
  }
  if (result.crashed) result.children.clear();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

} // namespace

worker_actor::behavior_type worker(worker_actor::pointer, std::shared_ptr<consumer> impl,
                                   worker_options opts) {
  return {
      [impl, opts](run_atom, const work_order& order) { return run_one(*impl, order, opts); },
  };
}

} // namespace sy::actors
