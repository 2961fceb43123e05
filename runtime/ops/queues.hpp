#pragma once

#include "runtime/core/value.hpp"
#include "runtime/ops/session.hpp"
#include "runtime/pipeline/live_nodes.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

/// The queues of consumer identities as an operator sees them: binds,
/// queue depth, crashed tasks, replicas and metrics (`switchyard list`,
/// `GET /api/queues`), and pages of one queue's tasks. Blocking.
namespace sy::ops {

/// Adds every number of `from` into `into`, recursing into objects (the
/// metrics' histogram bucket counts add up the same way): summing the
/// metrics of several nodes.
void add_counters(value& into, const value& from);

/// One identity as JSON: identity, filters, persistent, service_version,
/// external, pending (queued, not started), in_flight (started or leased,
/// as of the nodes' last heartbeats), crashed,
/// replicas, nodes [{name, age_s}], metrics summed over the live nodes.
/// Costs a few requests per identity, whatever the number of tasks.
expected<value> list_queues(session& s);

/// The same with the live nodes already read.
expected<value> list_queues(session& s, const std::vector<pipeline::live_node>& nodes);

/// The same for one identity; `errc::not_found` when it has no bind.
expected<value> describe_queue(session& s, const std::string& identity);

/// A page of tasks: `{"tasks": [...], "next": "<cursor>" | null}`.
/// Cursors are stream sequences written as decimal strings.
struct page_request {
  std::uint64_t after = 0;
  std::size_t limit = 50;
};

/// Tasks in `identity`'s queue (waiting or delivered and not yet acked),
/// oldest first: one direct get per task.
expected<value> pending_page(session& s, const std::string& identity, page_request page);

/// `identity`'s crashed tasks from the crashed index, oldest first, each
/// checked against its record: entries whose record is gone or no longer
/// Crashed are removed from the index and skipped.
expected<value> crashed_page(session& s, const std::string& identity, page_request page);

/// Every crashed record of `identity`, through the index (checked as above).
expected<std::vector<task_record>> crashed_records(session& s, const std::string& identity);

} // namespace sy::ops
