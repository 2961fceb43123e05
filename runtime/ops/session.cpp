#include "runtime/ops/session.hpp"

#include "runtime/pipeline/layout.hpp"
#include "runtime/task/codec.hpp"

namespace sy::ops {

expected<session> open_session(std::shared_ptr<broker::connection> conn) {
  session out{conn, nullptr, nullptr, nullptr};
  for (auto [name, slot] : {std::pair{pipeline::tasks_bucket, &out.tasks},
                            {pipeline::binds_bucket, &out.binds},
                            {pipeline::nodes_bucket, &out.nodes}}) {
    auto bucket = broker::kv_bucket::open(conn, name);
    if (!bucket)
      return make_error(bucket.error().code, std::string{"bucket "} + name + ": " +
                                                 bucket.error().message +
                                                 " (has a node ever run against this broker?)");
    *slot = std::make_shared<broker::kv_bucket>(std::move(*bucket));
  }
  return out;
}

expected<std::vector<task_record>> read_records(broker::kv_bucket& tasks,
                                                const std::string& pattern) {
  auto entries = tasks.entries(pattern);
  if (!entries) return entries.error();
  std::vector<task_record> out;
  for (auto& e : *entries) {
    auto t = decode_task(e.value);
    if (t) out.push_back({e.key, e.revision, std::move(*t)});
  }
  return out;
}

expected<task_record> find_record(broker::kv_bucket& tasks, const std::string& uid) {
  if (!pipeline::is_key_token(uid))
    return make_error(errc::invalid_input, "\"" + uid + "\" is not a task uid");
  auto records = read_records(tasks, "*." + uid);
  if (!records) return records.error();
  if (records->empty())
    return make_error(errc::not_found, "no record of task " + uid +
                                           " (a root is recorded once it is routed; records of "
                                           "completed analyses are removed by the "
                                           "housekeeper)");
  return std::move(records->front());
}

} // namespace sy::ops
