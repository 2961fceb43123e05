#include "runtime/cli/command.hpp"

#include <iostream>

namespace sy::cli {

int usage_error(const std::string& message) {
  std::cerr << "switchyard: " << message << '\n';
  return exit_usage;
}

} // namespace sy::cli

int main(int argc, char** argv) {
  using namespace sy::cli;
  CLI::App app{"switchyard: distributed task routing and scheduling on NATS JetStream",
               "switchyard"};
  app.set_version_flag("--version", "switchyard " SY_VERSION);
  app.require_subcommand(1);
  int result = exit_ok;
  add_match_command(app, result);
  add_config_command(app, result);
  add_node_command(app, result);
  add_send_command(app, result);
  add_ops_commands(app, result);
  add_bench_command(app, result);
  add_simulate_command(app, result);
  add_logs_command(app, result);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return exit_usage;
  }
  return result;
}
