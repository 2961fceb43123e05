#pragma once

namespace sy::cli {

/// `switchyard bench --scenario resource`: upload and download MB/s of one
/// resource of `megabytes` (<= 0: 1024) through the object store, next to
/// the raw JetStream publish rate of the same bytes in 128 KiB messages, on
/// its own nats-server with file storage under /tmp.
int run_resource_bench(long megabytes, bool json);

} // namespace sy::cli
