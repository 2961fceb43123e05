#include "runtime/cli/client.hpp"
#include "runtime/cli/command.hpp"
#include "runtime/cli/ops_common.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/task/codec.hpp"

#include <iostream>

namespace sy::cli {

void ops_flags::add_to(CLI::App* cmd) {
  config.add_to(cmd);
  cmd->add_flag("--json", json, "Print JSON");
}

expected<ops_session> open_session(const ops_flags& flags, const std::string& command) {
  auto loaded = flags.config.load();
  if (!loaded) return loaded.error();
  auto conn = connect_client(loaded->config, command);
  if (!conn) return conn.error();
  ops_session session{*conn, nullptr, nullptr, nullptr};
  for (auto [name, slot] : {std::pair{pipeline::tasks_bucket, &session.tasks},
                            {pipeline::binds_bucket, &session.binds},
                            {pipeline::nodes_bucket, &session.nodes}}) {
    auto bucket = broker::kv_bucket::open(*conn, name);
    if (!bucket)
      return make_error(bucket.error().code, std::string{"bucket "} + name + ": " +
                                                 bucket.error().message +
                                                 " (has a node ever run against this broker?)");
    *slot = std::make_shared<broker::kv_bucket>(std::move(*bucket));
  }
  return session;
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], row[i].size());
    }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i)
      line +=
          i + 1 == row.size() ? row[i] : row[i] + std::string(width[i] - row[i].size() + 2, ' ');
    std::cout << line << '\n';
  }
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
    return make_error(errc::not_found,
                      "no record of task " + uid +
                          " (records of completed analyses are removed by the housekeeper)");
  return std::move(records->front());
}

int negative(const std::string& message) {
  std::cerr << "switchyard: " << message << '\n';
  return exit_negative;
}

int failed(const error& e) {
  return usage_error(e.message);
}

void add_ops_commands(CLI::App& app, int& result) {
  add_ops_identity_commands(app, result);
  add_schedule_commands(app, result);
  add_resource_commands(app, result);
  add_ops_task_commands(app, result);
}

} // namespace sy::cli
