#pragma once

#include "runtime/broker/object_store.hpp"

#include <memory>
#include <string>

namespace sy::broker {

/// Streams the regular files under `dir` (recursively, in path order) as a
/// ZIP archive, without compression and without a temporary file: each
/// entry's CRC and sizes follow its data in a data descriptor. The archive
/// is what `object_store::put` reads. Fails (when read) on a file that
/// cannot be read or an archive past ZIP's 4 GiB limits (no ZIP64).
expected<object_reader> zip_directory(const std::string& dir);

} // namespace sy::broker
