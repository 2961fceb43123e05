#include "runtime/ops/session.hpp"

#include "runtime/pipeline/layout.hpp"
#include "runtime/task/codec.hpp"

#include <algorithm>

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

expected<std::vector<task_record>> read_analysis(broker::kv_bucket& tasks,
                                                 const std::string& root) {
  auto records = read_records(tasks, root + ".*");
  if (!records) return records.error();
  auto has_root = std::any_of(records->begin(), records->end(),
                              [&](const task_record& r) { return r.t.uid == root; });
  if (has_root) return records;
  for (const auto& r : *records) {
    if (is_sole_fork_of_root(r.t)) {
      records->push_back({pipeline::task_key(root, root), 0, routed_root_of(r.t)});
      break;
    }
  }
  return records;
}

expected<task_record> find_record(broker::kv_bucket& tasks, const std::string& uid) {
  if (!pipeline::is_key_token(uid))
    return make_error(errc::invalid_input, "\"" + uid + "\" is not a task uid");
  auto records = read_records(tasks, "*." + uid);
  if (!records) return records.error();
  if (records->empty()) {
    auto tree = read_analysis(tasks, uid);
    if (!tree) return tree.error();
    for (auto& r : *tree)
      if (r.t.uid == uid) records->push_back(std::move(r));
  }
  if (records->empty())
    return make_error(errc::not_found, "no record of task " + uid +
                                           " (a root is recorded once it is routed; records of "
                                           "completed analyses are removed by the "
                                           "housekeeper)");
  return std::move(records->front());
}

} // namespace sy::ops
