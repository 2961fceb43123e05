#pragma once

#include <caf/atom.hpp>

namespace sy::actors {

// Every atom the actors use, in one place (CAF 0.17: at most 10 characters).
using run_atom = caf::atom_constant<caf::atom("run")>;
using delivered_atom = caf::atom_constant<caf::atom("delivered")>;
using committed_atom = caf::atom_constant<caf::atom("committed")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using started_atom = caf::atom_constant<caf::atom("started")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
using schedule_atom = caf::atom_constant<caf::atom("schedule")>;
using last_run_atom = caf::atom_constant<caf::atom("lastrun")>;
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
using binds_atom = caf::atom_constant<caf::atom("binds")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using stopped_atom = caf::atom_constant<caf::atom("stopped")>;
using pop_atom = caf::atom_constant<caf::atom("pop")>;
using report_atom = caf::atom_constant<caf::atom("report")>;
using lease_atom = caf::atom_constant<caf::atom("lease")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;

} // namespace sy::actors
