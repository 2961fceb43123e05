#include "actors/core/lookup.hpp"

#include "runtime/pipeline/analysis_events.hpp"
#include "runtime/task/codec.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace sy::actors {

namespace {

lookup_actor::behavior_type lookup(lookup_actor::pointer, std::shared_ptr<broker::connection> conn,
                                   std::shared_ptr<broker::kv_bucket> bucket) {
  return {
      [bucket](get_atom, const std::string& key) {
        lookup_result out;
        // From the stream leader: a stale "not found" would skip live work.
        auto entry = bucket->get_latest(key);
        if (entry)
          out.value = std::move(entry->value);
        else if (entry.error().code != errc::not_found)
          out.error = entry.error().message;
        return out;
      },
      [conn](announced_atom, const std::string& root_uid) {
        lookup_result out;
        auto event = pipeline::last_analysis_event(*conn, root_uid);
        if (event)
          out.value = std::move(*event);
        else
          out.error = event.error().message;
        return out;
      },
  };
}

} // namespace

expected<task> found_task(const lookup_result& r) {
  if (!r.value) return make_error(errc::not_found, "no record");
  return decode_task(*r.value);
}

lookup_actor spawn_lookup(caf::actor_system& sys, std::shared_ptr<broker::connection> conn,
                          std::shared_ptr<broker::kv_bucket> bucket) {
  return sys.spawn<caf::detached>(lookup, std::move(conn), std::move(bucket));
}

} // namespace sy::actors
