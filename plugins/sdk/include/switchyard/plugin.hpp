#pragma once

// Everything a switchyard plugin library needs: tasks, values, errors, the
// consumer, ranker and scheduler interfaces, factories and the entry symbol
// macro. See docs/PLUGINS.md and plugins/examples/.

#include "runtime/plugin/abi.hpp"
