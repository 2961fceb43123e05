#include "runtime/pipeline/resource_store.hpp"

namespace sy::pipeline {

expected<std::shared_ptr<broker::object_store>> resource_store::bucket(const std::string& name) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto i = stores_.find(name);
  if (i != stores_.end()) return i->second;
  auto opened = broker::object_store::open(conn_, name);
  if (!opened) return opened.error();
  auto store = std::make_shared<broker::object_store>(std::move(*opened));
  stores_.emplace(name, store);
  return store;
}

expected<void> resource_store::read_resource(const resource_ref& ref, const resource_sink& sink) {
  auto what = "resource \"" + ref.name + "\" (object " + ref.object + " in " + ref.bucket + ")";
  auto store = bucket(ref.bucket);
  if (!store) return make_error(store.error().code, what + ": " + store.error().message);
  auto info = (*store)->info(ref.object);
  if (!info) return make_error(info.error().code, what + ": " + info.error().message);
  if (!ref.sha256.empty() && !broker::same_digest(ref.sha256, info->digest))
    return make_error(errc::invalid_input, what + " holds other content than the task names (" +
                                               info->digest + ", expected " + ref.sha256 + ")");
  auto got = (*store)->get(ref.object, [&](std::string_view chunk) { return sink(chunk); });
  if (!got) return make_error(got.error().code, what + ": " + got.error().message);
  return {};
}

} // namespace sy::pipeline
