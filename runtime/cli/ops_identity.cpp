// `switchyard list` and `switchyard delete`: consumer identities, their
// queues and the nodes that serve them.

#include "runtime/broker/consumer_spec.hpp"
#include "runtime/cli/command.hpp"
#include "runtime/cli/ops_common.hpp"
#include "runtime/ops/queues.hpp"
#include "runtime/pipeline/keepers.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/pipeline/metrics.hpp"
#include "runtime/pipeline/queue_drain.hpp"

#include <iostream>
#include <map>
#include <thread>

namespace sy::cli {

namespace {

using namespace std::chrono_literals;

// --- list ----------------------------------------------------------------

/// The median of a histogram in the metrics, as "<=2.5ms"; "-" if none.
std::string median(const value& metrics, const char* histogram) {
  auto ms =
      pipeline::duration_histogram::quantile_ms(metrics.value(histogram, value::object()), 0.5);
  if (!ms) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "<=%gms", *ms);
  return text;
}

std::vector<std::string> row_cells(const value& j) {
  auto number = [](const value& v) { return v.is_null() ? std::string{"-"} : v.dump(); };
  std::string nodes;
  for (const auto& n : j["nodes"])
    nodes += (nodes.empty() ? "" : ",") + n.value("name", "") + "(" +
             std::to_string(static_cast<long>(n.value("age_s", 0.0))) + "s)";
  auto version = j["service_version"].get<std::string>();
  return {j["identity"].get<std::string>(),
          version.empty() ? "-" : version,
          j["persistent"].get<bool>() ? "yes" : "no",
          number(j["pending"]),
          number(j["in_flight"]),
          std::to_string(j["crashed"].get<int>()),
          std::to_string(j["replicas"].get<int>()),
          number(j["metrics"].value("finished", value{})),
          median(j["metrics"], "queue_wait"),
          median(j["metrics"], "processing"),
          nodes.empty() ? "-" : nodes,
          j["filters"].dump()};
}

int run_list(const ops_flags& flags) {
  auto session = open_session(flags, "list");
  if (!session) return failed(session.error());
  auto identities = ops::list_queues(*session);
  if (!identities) return failed(identities.error());
  // Roots sent and not routed yet: they have no record before routing.
  auto unrouted = pipeline::stored_tasks(*session->conn, pipeline::unrouted_stream);
  if (flags.json) {
    std::cout << value{{"identities", *identities},
                       {"unrouted", unrouted ? value(*unrouted) : value()}}
                     .dump()
              << '\n';
    return exit_ok;
  }
  if (unrouted)
    std::cout << "unrouted: " << *unrouted << " task(s) waiting for a router\n";
  else
    std::cout << "unrouted: unknown (" << unrouted.error().message << ")\n";
  if (identities->empty()) {
    std::cout << "no binds\n";
    return exit_ok;
  }
  std::vector<std::vector<std::string>> table{{"IDENTITY", "VERSION", "PERSISTENT", "PENDING",
                                               "IN-FLIGHT", "CRASHED", "REPLICAS", "FINISHED",
                                               "WAIT P50", "RUN P50", "NODES", "FILTERS"}};
  for (const auto& j : *identities)
    table.push_back(row_cells(j));
  print_table(table);
  return exit_ok;
}

// --- delete --------------------------------------------------------------

/// Takes the tasks still queued for `identity` out (recorded Crashed);
/// returns how many.
expected<std::uint64_t> drain_queue(ops_session& session, const std::string& identity) {
  auto drain = pipeline::queue_drain::start(
      session.conn, session.tasks, identity,
      "identity " + identity + " was deleted (switchyard delete) while the task was queued");
  if (!drain) return drain.error();
  for (int i = 0; i < 300; ++i) { // up to 30 s
    std::this_thread::sleep_for(100ms);
    if ((*drain)->finished()) return (*drain)->removed();
  }
  return make_error(errc::unavailable,
                    "queue of " + identity + " not empty after 30 s; run delete again");
}

int run_delete(const ops_flags& flags, const std::string& identity) {
  if (!pipeline::is_identity(identity))
    return usage_error("\"" + identity + "\" is not a consumer identity");
  auto session = open_session(flags, "delete");
  if (!session) return failed(session.error());
  auto nodes = read_live_nodes(*session->nodes);
  if (!nodes) return failed(nodes.error());
  if (auto names = pipeline::serving_nodes(*nodes, identity); !names.empty())
    return negative("identity " + identity + " is served by live node(s) " + names +
                    "; stop them first");
  auto bind = session->binds->get(identity);
  if (bind)
    if (auto r = session->binds->purge(identity); !r) return failed(r.error());
  auto consumers = pipeline::delete_queue_consumers(*session->conn, identity);
  if (!consumers) return failed(consumers.error());
  if (!bind && *consumers == 0) return negative("no bind and no queue for identity " + identity);
  auto removed = drain_queue(*session, identity);
  if (!removed) return failed(removed.error());
  if (flags.json)
    std::cout
        << value{{"identity", identity}, {"deleted", true}, {"queued_removed", *removed}}.dump()
        << '\n';
  else
    std::cout << "deleted " << identity << ": bind, queue consumers and " << *removed
              << " queued task(s) (recorded Crashed)\n";
  return exit_ok;
}

void add_list_command(CLI::App& app, int& result) {
  auto flags = std::make_shared<ops_flags>();
  auto cmd = app.add_subcommand(
      "list", "Show the tasks waiting for a router, and every bind with its queue (pending, "
              "in flight), crashed records, live replicas and nodes, and metrics summed over "
              "live nodes");
  flags->add_to(cmd);
  cmd->callback([flags, &result] { result = run_list(*flags); });
}

void add_delete_command(CLI::App& app, int& result) {
  auto flags = std::make_shared<ops_flags>();
  auto identity = std::make_shared<std::string>();
  auto cmd = app.add_subcommand(
      "delete", "Remove a consumer identity: its bind, its queue consumers and the tasks still "
                "queued for it. Refused (exit 1) while a live node serves it");
  cmd->add_option("identity", *identity, "Consumer identity")->required();
  flags->add_to(cmd);
  cmd->callback([flags, identity, &result] { result = run_delete(*flags, *identity); });
}

} // namespace

void add_ops_identity_commands(CLI::App& app, int& result) {
  add_list_command(app, result);
  add_delete_command(app, result);
}

} // namespace sy::cli
