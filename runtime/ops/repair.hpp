#pragma once

#include "runtime/core/value.hpp"
#include "runtime/ops/session.hpp"

#include <string>
#include <vector>

/// What an operator does to tasks (`switchyard retry|cancel|analysis`, the
/// HTTP API): each keeps the records, the streams and the crashed index
/// consistent as docs/PIPELINE.md says. Blocking.
namespace sy::ops {

/// Sends a crashed task again under a new uid (`orig_uid` = its uid): the
/// retry's record, then its message, then the crashed record and its index
/// entry go. The analysis reopens. Returns the new uid.
expected<std::string> retry(session& s, const task_record& crashed);

/// Retries task `uid`: `errc::not_found` without a record, `errc::conflict`
/// when it is not Crashed.
expected<std::string> retry(session& s, const std::string& uid);

/// Records task `uid`, which has not ended, Crashed ("cancelled by user"),
/// so its analysis can complete (compare-and-set; read again on a race),
/// and tells the schedulers of its identity (bucket `sy_cancelled`): a
/// queued copy is dropped without running, a running one's outcome is
/// replaced by the cancellation.
/// `errc::conflict` when it already ended, `errc::not_found` without record.
expected<void> cancel(session& s, const std::string& uid);

/// Gives up on a crashed task: removes its record and index entry.
expected<void> remove_crashed(session& s, const task_record& crashed);

/// The records of analysis `root` as JSON: {"root_uid", "tasks": [{uid,
/// parent_uid, orig_uid, status, receiver, headers, error}]};
/// `errc::not_found` when no record is left.
expected<value> analysis(session& s, const std::string& root);

/// Why analysis `root` may have no record, for the operator.
std::string no_records_message(const std::string& root);

/// The JSON of `analysis` for records already read.
value analysis_json(const std::string& root, const std::vector<task_record>& records);

} // namespace sy::ops
