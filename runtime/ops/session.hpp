#pragma once

#include "runtime/broker/connection.hpp"
#include "runtime/broker/kv_bucket.hpp"
#include "runtime/core/expected.hpp"
#include "runtime/task/task.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

/// Reading and repairing the records of docs/PIPELINE.md on behalf of an
/// operator: the operations commands of the CLI and the HTTP API both go
/// through here, so they answer the same. Every function is blocking (broker
/// round trips): call it from a CLI or an HTTP thread, never from an actor.
namespace sy::ops {

/// A connection and the buckets of the layout.
struct session {
  std::shared_ptr<broker::connection> conn;
  std::shared_ptr<broker::kv_bucket> tasks;
  std::shared_ptr<broker::kv_bucket> binds;
  std::shared_ptr<broker::kv_bucket> nodes;
};

/// Opens the buckets on `conn`. A missing bucket means no node ever ran
/// against this broker: the error says so.
expected<session> open_session(std::shared_ptr<broker::connection> conn);

/// A task record read from `sy_tasks`.
struct task_record {
  std::string key;
  std::uint64_t revision = 0;
  task t;
};

/// Every decodable record whose key matches `pattern`; undecodable ones are
/// skipped (the housekeeper ignores them too).
expected<std::vector<task_record>> read_records(broker::kv_bucket& tasks,
                                                const std::string& pattern);

/// The records of analysis `root` (keys `<root>.*`), with its root's routed
/// record made up from its sole fork's if its router wrote none
/// (`routed_root_of`; revision 0).
expected<std::vector<task_record>> read_analysis(broker::kv_bucket& tasks, const std::string& root);

/// The record of task `uid` (key `*.<uid>`), or a root's routed record
/// made up as in `read_analysis`; `errc::not_found` if there is none,
/// `errc::invalid_input` if `uid` cannot be a key token.
expected<task_record> find_record(broker::kv_bucket& tasks, const std::string& uid);

} // namespace sy::ops
