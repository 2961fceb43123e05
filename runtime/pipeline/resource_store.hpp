#pragma once

#include "runtime/broker/connection.hpp"
#include "runtime/broker/object_store.hpp"
#include "runtime/plugin/resource.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace sy::pipeline {

/// Reads the resources tasks refer to (docs/RESOURCES.md), through one
/// object store per bucket, opened on first use: the runtime's
/// `resource_reader`, behind consumers' `sy::resource` and the CLI.
/// Thread-safe; blocking.
class resource_store final : public resource_reader {
public:
  explicit resource_store(std::shared_ptr<broker::connection> conn) : conn_(std::move(conn)) {}

  /// Streams the content of `ref` to `sink`. Fails when the object is gone,
  /// when it is not the content the reference names (digest), or when its
  /// chunks do not add up to its digest.
  expected<void> read_resource(const resource_ref& ref, const resource_sink& sink) override;

  /// The object store of `bucket`.
  expected<std::shared_ptr<broker::object_store>> bucket(const std::string& name);

private:
  std::shared_ptr<broker::connection> conn_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<broker::object_store>> stores_;
};

} // namespace sy::pipeline
