#include "actors/api/prometheus.hpp"

#include "runtime/pipeline/metrics.hpp"

#include <cstdio>
#include <sstream>

namespace sy::actors {

namespace {

/// A label value with `\`, `"` and newlines escaped.
std::string escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

class writer {
public:
  void family(const std::string& name, const char* type, const char* help) {
    out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }

  void sample(const std::string& name, const std::string& labels, double v) {
    out_ << name;
    if (!labels.empty()) out_ << '{' << labels << '}';
    out_ << ' ' << number(v) << '\n';
  }

  /// A histogram from `duration_histogram::to_json` (per-bucket counts in
  /// milliseconds) as cumulative buckets in seconds.
  void histogram(const std::string& name, const std::string& labels, const value& h) {
    const auto& buckets = h.value("buckets", value::object());
    std::uint64_t cumulative = 0;
    for (double bound : pipeline::duration_histogram::bounds_ms) {
      char key[32];
      std::snprintf(key, sizeof key, "%g", bound);
      cumulative += buckets.value(key, std::uint64_t{0});
      char le[32];
      std::snprintf(le, sizeof le, "%g", bound / 1000);
      sample(name + "_bucket", labels + ",le=\"" + le + "\"", static_cast<double>(cumulative));
    }
    sample(name + "_bucket", labels + ",le=\"+Inf\"",
           static_cast<double>(h.value("count", std::uint64_t{0})));
    sample(name + "_sum", labels, h.value("sum_ms", 0.0) / 1000);
    sample(name + "_count", labels, static_cast<double>(h.value("count", std::uint64_t{0})));
  }

  std::string text() const { return out_.str(); }

private:
  std::ostringstream out_;
};

struct counter {
  const char* key;
  const char* name;
  const char* help;
};

constexpr counter identity_counters[] = {
    {"produced", "switchyard_tasks_produced_total", "Tasks routed into the identity's queue."},
    {"assigned", "switchyard_tasks_assigned_total", "Tasks handed to a worker."},
    {"consumed", "switchyard_tasks_consumed_total", "Tasks taken from the queue (acked)."},
    {"finished", "switchyard_tasks_finished_total", "Tasks that finished."},
    {"crashed", "switchyard_tasks_crashed_total", "Tasks that crashed."},
    {"garbage_collected", "switchyard_tasks_gc_total",
     "Finished task records removed by the housekeeper."},
    {"duplicates", "switchyard_tasks_redelivered_done_total",
     "Redeliveries skipped because the task had already ended."},
    {"deduplicated", "switchyard_tasks_deduplicated_total",
     "Tasks finished as duplicates of a waiting task without running."},
};

constexpr counter node_counters[] = {
    {"routed", "switchyard_routed_total", "Unrouted tasks forked to at least one identity."},
    {"unmatched", "switchyard_unmatched_total", "Unrouted tasks that matched no bind."},
    {"parked", "switchyard_parked_total", "Messages parked because they could not be decoded."},
};

struct gauge {
  const char* key;
  const char* name;
  const char* help;
};

constexpr gauge queue_gauges[] = {
    {"pending", "switchyard_queue_pending", "Tasks waiting in the identity's queue."},
    {"in_flight", "switchyard_queue_in_flight",
     "Tasks delivered from the queue and not yet acked."},
    {"crashed", "switchyard_queue_crashed", "Crashed task records of the identity."},
    {"replicas", "switchyard_queue_replicas", "Workers of the identity on live nodes."},
};

std::string identity_label(const std::string& identity) {
  return "identity=\"" + escaped(identity) + "\"";
}

} // namespace

std::string render_prometheus(const value& queues, const std::vector<pipeline::live_node>& nodes) {
  writer w;
  for (const auto& g : queue_gauges) {
    w.family(g.name, "gauge", g.help);
    for (const auto& q : queues) {
      const auto& v = q.value(g.key, value{});
      if (v.is_number()) w.sample(g.name, identity_label(q.value("identity", "")), v.get<double>());
    }
  }
  w.family("switchyard_nodes_live", "gauge", "Nodes with a live heartbeat.");
  w.sample("switchyard_nodes_live", "", static_cast<double>(nodes.size()));
  // Per node and identity, as of the node's last heartbeat.
  auto each_identity = [&](auto&& emit) {
    for (const auto& node : nodes) {
      auto labels = "node=\"" + escaped(node.name) + "\",";
      const auto& ids =
          node.record.value("metrics", value::object()).value("identities", value::object());
      for (const auto& [identity, m] : ids.items())
        emit(labels + identity_label(identity), m);
    }
  };
  for (const auto& c : identity_counters) {
    w.family(c.name, "counter", c.help);
    each_identity([&](const std::string& labels, const value& m) {
      w.sample(c.name, labels, static_cast<double>(m.value(c.key, std::uint64_t{0})));
    });
  }
  w.family("switchyard_tasks_in_flight", "gauge", "Tasks being processed on the node.");
  each_identity([&](const std::string& labels, const value& m) {
    w.sample("switchyard_tasks_in_flight", labels,
             static_cast<double>(m.value("in_flight", std::int64_t{0})));
  });
  w.family("switchyard_queue_wait_seconds", "histogram",
           "From being queued to being handed to a worker.");
  each_identity([&](const std::string& labels, const value& m) {
    w.histogram("switchyard_queue_wait_seconds", labels, m.value("queue_wait", value::object()));
  });
  w.family("switchyard_processing_seconds", "histogram", "Time a worker spent on a task.");
  each_identity([&](const std::string& labels, const value& m) {
    w.histogram("switchyard_processing_seconds", labels, m.value("processing", value::object()));
  });
  for (const auto& c : node_counters) {
    w.family(c.name, "counter", c.help);
    for (const auto& node : nodes)
      w.sample(c.name, "node=\"" + escaped(node.name) + "\"",
               static_cast<double>(
                   node.record.value("metrics", value::object()).value(c.key, std::uint64_t{0})));
  }
  return w.text();
}

} // namespace sy::actors
