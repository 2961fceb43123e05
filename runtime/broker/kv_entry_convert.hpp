#pragma once

// Internal to runtime/broker: nats.c kvEntry -> kv_entry. Not a public header.

#include "runtime/broker/kv_entry.hpp"

#include <nats/nats.h>

namespace sy::broker::detail {

inline kv_entry to_kv_entry(kvEntry* e) {
  kv_entry out;
  out.key = kvEntry_Key(e);
  if (auto* v = static_cast<const char*>(kvEntry_Value(e)))
    out.value.assign(v, static_cast<std::size_t>(kvEntry_ValueLen(e)));
  out.revision = kvEntry_Revision(e);
  out.created = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(kvEntry_Created(e))));
  switch (kvEntry_Operation(e)) {
  case kvOp_Delete:
    out.operation = kv_operation::erase;
    break;
  case kvOp_Purge:
    out.operation = kv_operation::purge;
    break;
  default:
    out.operation = kv_operation::put;
  }
  return out;
}

} // namespace sy::broker::detail
