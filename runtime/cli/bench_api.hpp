#pragma once

namespace sy::cli {

/// `switchyard bench --scenario api`: external workers over HTTP, as KAT
/// runners work. A node with the HTTP API and one external identity on a
/// fresh embedded nats-server (file storage); `tasks` (<= 0: 5000) tasks
/// are queued first, then `workers` threads each pop one task and report
/// it Finished, over and over, each on its own keep-alive connection.
/// Reports pop+report round trips per second and both latencies.
int run_api_bench(long tasks, int workers, bool json);

} // namespace sy::cli
