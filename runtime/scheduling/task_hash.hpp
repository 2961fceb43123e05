#pragma once

#include "runtime/task/task.hpp"

#include <string>
#include <vector>

namespace sy::scheduling {

/// The hash a queue deduplicates by: a digest of the task's headers and
/// payload, or only of the listed keys ("headers.<key>" or
/// "payload.<key>"; a bare key means a header; "headers.*" and
/// "payload.*" stand for all of them). Equal inputs give equal
/// hashes across processes and versions (canonical JSON, FNV-1a 64, hex).
std::string task_hash(const task& t, const std::vector<std::string>& keys = {});

/// A digest of the task's payload alone, for `allow_updates`.
std::string payload_digest(const task& t);

} // namespace sy::scheduling
