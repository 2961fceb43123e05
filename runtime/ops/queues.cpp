#include "runtime/ops/queues.hpp"

#include "runtime/broker/stream_spec.hpp"
#include "runtime/pipeline/crashed_index.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/pipeline/live_nodes.hpp"
#include "runtime/task/codec.hpp"

#include <algorithm>

namespace sy::ops {

namespace {

expected<value> queue_json(session& s, const std::string& identity, const value& bind,
                           const std::vector<pipeline::live_node>& nodes) {
  // The queue holds a task until it ended; the nodes count those running
  // (or leased). A scheduler's window of pulled tasks still counts as
  // pending: they wait for a worker.
  auto queued =
      broker::subject_counts(*s.conn, pipeline::queues_stream, pipeline::queue_filter(identity));
  if (!queued) return queued.error();
  std::int64_t in_queue = 0;
  for (const auto& [_, n] : *queued)
    in_queue += static_cast<std::int64_t>(n);
  auto crashed = pipeline::count_crashed(*s.conn, identity);
  if (!crashed) return crashed.error();
  int replicas = 0;
  value names = value::array(), metrics = value::object();
  for (const auto& node : nodes) {
    if (!node.serves(identity)) continue;
    replicas += node.concurrency(identity);
    names.push_back({{"name", node.name}, {"age_s", node.age}});
    add_counters(metrics, node.record.value("metrics", value::object())
                              .value("identities", value::object())
                              .value(identity, value::object()));
  }
  auto running = metrics.value("in_flight", std::int64_t{0});
  return value{{"identity", identity},
               {"filters", bind.value("filters", value::array())},
               {"persistent", bind.value("persistent", true)},
               {"service_version", bind.value("service_version", "")},
               {"external", bind.value("external", false)},
               {"pending", std::max<std::int64_t>(0, in_queue - running)},
               {"in_flight", running},
               {"crashed", *crashed},
               {"replicas", replicas},
               {"nodes", names},
               {"metrics", metrics}};
}

value page_json(value tasks, std::optional<std::uint64_t> next) {
  return {{"tasks", std::move(tasks)},
          {"next", next ? value(std::to_string(*next)) : value(nullptr)}};
}

/// The crashed record `entry` stands for, or none. An entry is stale when
/// its record is gone, Finished, or rewritten after the crash (the task ran
/// again): it is then removed from the index. A record not yet Crashed but
/// older than the entry is a crash being committed right now (the index is
/// written first): skipped, kept.
expected<std::optional<task_record>> check_entry(session& s, const pipeline::crashed_entry& entry) {
  auto key = pipeline::task_key(entry.t);
  auto current = s.tasks->get(key);
  if (!current && current.error().code != errc::not_found) return current.error();
  if (current) {
    auto t = decode_task(current->value);
    if (t && t->status == task_status::crashed)
      return std::optional<task_record>{task_record{key, current->revision, std::move(*t)}};
    if (t && t->status != task_status::finished && t->last_update <= entry.t.last_update)
      return std::optional<task_record>{};
  }
  (void)broker::delete_stream_message(*s.conn, pipeline::crashed_stream, entry.seq);
  return std::optional<task_record>{};
}

/// `identity`'s crashed records from index sequence `after` on, each
/// checked (stale entries are skipped, so a page may take more than one
/// read), until `want` were found (0: all); and the cursor where it
/// stopped, none at the end of the index.
expected<std::pair<std::vector<task_record>, std::optional<std::uint64_t>>>
live_crashed(session& s, const std::string& identity, std::uint64_t after, std::size_t want) {
  std::vector<task_record> out;
  for (;;) {
    auto left = want == 0 ? std::size_t{256} : want - out.size();
    auto read = pipeline::read_crashed(*s.conn, identity, after, left);
    if (!read) return read.error();
    for (const auto& entry : read->entries) {
      auto record = check_entry(s, entry);
      if (!record) return record.error();
      if (*record) out.push_back(std::move(**record));
    }
    if (!read->next) return std::pair{std::move(out), std::optional<std::uint64_t>{}};
    after = *read->next;
    if (want != 0 && out.size() == want) return std::pair{std::move(out), read->next};
  }
}

} // namespace

void add_counters(value& into, const value& from) {
  for (const auto& [key, v] : from.items()) {
    if (v.is_number_integer())
      into[key] = into.value(key, std::int64_t{0}) + v.get<std::int64_t>();
    else if (v.is_number())
      into[key] = into.value(key, 0.0) + v.get<double>();
    else if (v.is_object()) {
      auto& nested = into[key];
      if (!nested.is_object()) nested = value::object();
      add_counters(nested, v);
    }
  }
}

expected<value> list_queues(session& s) {
  auto nodes = pipeline::read_live_nodes(*s.nodes);
  if (!nodes) return nodes.error();
  return list_queues(s, *nodes);
}

expected<value> list_queues(session& s, const std::vector<pipeline::live_node>& nodes) {
  auto binds = s.binds->entries(">");
  if (!binds) return binds.error();
  value out = value::array();
  for (const auto& e : *binds) {
    auto bind = value::parse(e.value, nullptr, false);
    if (!bind.is_object()) continue;
    auto row = queue_json(s, bind.value("identity", e.key), bind, nodes);
    if (!row) return row.error();
    out.push_back(std::move(*row));
  }
  return out;
}

expected<value> describe_queue(session& s, const std::string& identity) {
  if (!pipeline::is_identity(identity))
    return make_error(errc::invalid_input, "\"" + identity + "\" is not a consumer identity");
  auto entry = s.binds->get(identity);
  if (!entry) {
    if (entry.error().code == errc::not_found)
      return make_error(errc::not_found, "no bind for identity " + identity);
    return entry.error();
  }
  auto bind = value::parse(entry->value, nullptr, false);
  if (!bind.is_object()) return make_error(errc::internal, "unreadable bind of " + identity);
  auto nodes = pipeline::read_live_nodes(*s.nodes);
  if (!nodes) return nodes.error();
  return queue_json(s, identity, bind, *nodes);
}

expected<value> pending_page(session& s, const std::string& identity, page_request page) {
  auto read = broker::read_stored_page(*s.conn, pipeline::queues_stream,
                                       pipeline::queue_filter(identity), page.after, page.limit);
  if (!read) return read.error();
  value tasks = value::array();
  for (const auto& m : read->messages)
    if (auto t = decode_task(m.data)) tasks.push_back(to_json(*t));
  return page_json(std::move(tasks), read->next);
}

expected<value> crashed_page(session& s, const std::string& identity, page_request page) {
  auto read = live_crashed(s, identity, page.after, page.limit);
  if (!read) return read.error();
  value tasks = value::array();
  for (const auto& r : read->first)
    tasks.push_back(to_json(r.t));
  return page_json(std::move(tasks), read->second);
}

expected<std::vector<task_record>> crashed_records(session& s, const std::string& identity) {
  auto read = live_crashed(s, identity, 0, 0);
  if (!read) return read.error();
  return std::move(read->first);
}

} // namespace sy::ops
