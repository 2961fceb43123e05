#pragma once

namespace sy::cli {

/// `switchyard bench --scenario scheduler`: push and pop operations per
/// second of the deduplicating priority queue, in memory (no broker).
/// `operations` <= 0 means the default (2,000,000).
int run_scheduler_bench(long operations, bool json);

} // namespace sy::cli
