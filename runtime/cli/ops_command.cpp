#include "runtime/cli/client.hpp"
#include "runtime/cli/command.hpp"
#include "runtime/cli/ops_common.hpp"

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
  return ops::open_session(*conn);
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
