#include "runtime/sim/report.hpp"

#include "runtime/pipeline/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

namespace sy::sim {

namespace {

value latency_json(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {{"count", ms.size()},
          {"p50_ms", percentile(ms, 0.5)},
          {"p90_ms", percentile(ms, 0.9)},
          {"p99_ms", percentile(ms, 0.99)},
          {"max_ms", ms.empty() ? 0.0 : ms.back()}};
}

value histogram_json(const value& h) {
  auto q = [&](double p) -> value {
    auto ms = pipeline::duration_histogram::quantile_ms(h, p);
    return ms ? value(*ms) : value(nullptr);
  };
  return {{"count", h.value("count", std::uint64_t{0})},
          {"p50_ms_at_most", q(0.5)},
          {"p90_ms_at_most", q(0.9)},
          {"p99_ms_at_most", q(0.99)}};
}

/// Fenwick tree over ranks: how many inserted values rank below a given one.
class rank_counter {
public:
  explicit rank_counter(std::size_t n) : tree_(n + 1, 0) {}
  void add(std::size_t rank) {
    for (auto i = rank + 1; i < tree_.size(); i += i & (~i + 1))
      ++tree_[i];
  }
  std::uint64_t below(std::size_t rank) const {
    std::uint64_t n = 0;
    for (auto i = rank; i > 0; i -= i & (~i + 1))
      n += tree_[i];
    return n;
  }

private:
  std::vector<std::uint64_t> tree_;
};

} // namespace

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

std::uint64_t count_priority_inversions(const std::vector<root_record>& roots) {
  std::vector<const root_record*> done;
  for (const auto& r : roots)
    if (r.done >= 0 && r.prio != priority::normal) done.push_back(&r);
  std::vector<double> times;
  for (const auto* r : done)
    times.push_back(r->done);
  std::sort(times.begin(), times.end());
  auto rank = [&](double t) {
    return static_cast<std::size_t>(std::lower_bound(times.begin(), times.end(), t) -
                                    times.begin());
  };
  // Latest sent first: when a high root is reached, every low root sent
  // after it is in the counter, by completion time.
  std::sort(done.begin(), done.end(),
            [](const root_record* a, const root_record* b) { return a->sent > b->sent; });
  rank_counter lows{times.size()};
  std::uint64_t inversions = 0;
  for (const auto* r : done) {
    if (r->prio == priority::low)
      lows.add(rank(r->done));
    else
      inversions += lows.below(rank(r->done));
  }
  return inversions;
}

value make_report(const scenario& s, const std::vector<root_record>& roots,
                  const std::vector<sample>& samples, const std::vector<fault_mark>& faults,
                  const value& identity_metrics, double producing_ended) {
  std::uint64_t completed = 0, lost = 0, finished = 0, crashed = 0, reannounced = 0, repeated = 0;
  std::vector<double> all;
  std::map<std::size_t, std::vector<double>> by_producer;
  std::map<std::string, std::vector<double>> by_priority;
  double last_done = 0;
  for (const auto& r : roots) {
    if (r.done < 0) {
      ++lost;
      continue;
    }
    ++completed;
    finished += static_cast<std::uint64_t>(r.finished);
    crashed += static_cast<std::uint64_t>(r.crashed);
    reannounced += r.announcements > 1 ? 1 : 0;
    repeated += static_cast<std::uint64_t>(r.repeated_tasks);
    auto ms = (r.done - r.sent) * 1000;
    all.push_back(ms);
    by_producer[r.producer].push_back(ms);
    by_priority[std::string{to_string(r.prio)}].push_back(ms);
    last_done = std::max(last_done, r.done);
  }
  value producers = value::array();
  for (std::size_t i = 0; i < s.producers.size(); ++i)
    producers.push_back(latency_json(by_producer[i]));
  value priorities = value::object();
  for (const auto& [name, ms] : by_priority)
    priorities[name] = latency_json(ms);
  value identities = value::object();
  for (const auto& [identity, m] : identity_metrics.items())
    identities[identity] = {{"finished", m.value("finished", std::uint64_t{0})},
                            {"crashed", m.value("crashed", std::uint64_t{0})},
                            {"assigned", m.value("assigned", std::uint64_t{0})},
                            {"queue_wait", histogram_json(m.value("queue_wait", value::object()))},
                            {"processing", histogram_json(m.value("processing", value::object()))}};
  value series = value::array();
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto& p = samples[i];
    double rate = 0;
    if (i > 0 && p.t > samples[i - 1].t)
      rate = static_cast<double>(p.completed - samples[i - 1].completed) / (p.t - samples[i - 1].t);
    series.push_back({{"t", p.t},
                      {"sent", p.sent},
                      {"completed", p.completed},
                      {"completed_per_s", rate},
                      {"depth", p.depth}});
  }
  value marks = value::array();
  for (const auto& f : faults)
    marks.push_back({{"t", f.t}, {"fault", f.label}});
  double first_sent = roots.empty() ? 0 : roots.front().sent;
  return {{"scenario", s.name},
          {"description", s.description},
          {"sent", roots.size()},
          {"completed", completed},
          {"lost", lost},
          {"tasks_finished", finished},
          {"tasks_crashed", crashed},
          {"roots_announced_again", reannounced},
          {"tasks_listed_twice", repeated},
          {"priority_inversions", count_priority_inversions(roots)},
          {"producing_s", producing_ended - first_sent},
          {"throughput_per_s", last_done > first_sent
                                   ? static_cast<double>(completed) / (last_done - first_sent)
                                   : 0.0},
          {"latency", latency_json(all)},
          {"latency_by_producer", producers},
          {"latency_by_priority", priorities},
          {"identities", identities},
          {"faults", marks},
          {"series", series}};
}

namespace {

std::string fmt(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", v);
  return text;
}

std::string escape_xml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '&':
      out += "&amp;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

constexpr const char* palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                   "#9467bd", "#8c564b", "#e377c2", "#17becf"};

/// A chart area: maps (t, y) into pixels.
struct panel {
  double x0, y0, w, h, t_max, y_max;
  double x(double t) const { return x0 + w * (t_max > 0 ? t / t_max : 0); }
  double y(double v) const { return y0 + h - h * (y_max > 0 ? v / y_max : 0); }
};

void axes(std::ostringstream& out, const panel& p, const std::string& label) {
  out << "<rect x='" << fmt(p.x0) << "' y='" << fmt(p.y0) << "' width='" << fmt(p.w) << "' height='"
      << fmt(p.h) << "' fill='none' stroke='#999'/>\n"
      << "<text x='" << fmt(p.x0) << "' y='" << fmt(p.y0 - 6) << "' font-size='13'>"
      << escape_xml(label) << " (max " << fmt(p.y_max) << ")</text>\n";
  for (int i = 0; i <= 4; ++i) {
    double t = p.t_max * i / 4;
    out << "<text x='" << fmt(p.x(t)) << "' y='" << fmt(p.y0 + p.h + 14)
        << "' font-size='11' text-anchor='middle'>" << fmt(t) << " s</text>\n";
  }
}

void polyline(std::ostringstream& out, const panel& p,
              const std::vector<std::pair<double, double>>& pts, const char* colour) {
  out << "<polyline fill='none' stroke='" << colour << "' stroke-width='1.5' points='";
  for (const auto& [t, v] : pts)
    out << fmt(p.x(t)) << ',' << fmt(p.y(v)) << ' ';
  out << "'/>\n";
}

} // namespace

std::string render_svg(const std::string& title, const std::vector<sample>& samples,
                       const std::vector<fault_mark>& faults) {
  const double width = 900, height = 560;
  double t_max = samples.empty() ? 1 : samples.back().t;
  std::map<std::string, std::vector<std::pair<double, double>>> depth;
  std::vector<std::pair<double, double>> rate;
  double depth_max = 1, rate_max = 1;
  std::set<std::string> identities;
  for (const auto& p : samples)
    for (const auto& [identity, _] : p.depth)
      identities.insert(identity);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto& p = samples[i];
    for (const auto& identity : identities) { // an empty queue has no entry: 0
      auto n = p.depth.count(identity) ? static_cast<double>(p.depth.at(identity)) : 0.0;
      depth[identity].emplace_back(p.t, n);
      depth_max = std::max(depth_max, n);
    }
    if (i > 0 && p.t > samples[i - 1].t) {
      double r =
          static_cast<double>(p.completed - samples[i - 1].completed) / (p.t - samples[i - 1].t);
      rate.emplace_back(p.t, r);
      rate_max = std::max(rate_max, r);
    }
  }
  panel top{60, 50, width - 220, 200, t_max, depth_max};
  panel bottom{60, 310, width - 220, 200, t_max, rate_max};
  std::ostringstream out;
  out << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height
      << "' font-family='sans-serif'>\n<rect width='100%' height='100%' fill='white'/>\n"
      << "<text x='60' y='24' font-size='16' font-weight='bold'>" << escape_xml(title)
      << "</text>\n";
  axes(out, top, "queue depth (tasks)");
  axes(out, bottom, "analyses completed per second");
  std::size_t colour = 0;
  double legend_y = top.y0 + 10;
  for (const auto& [identity, pts] : depth) {
    const char* c = palette[colour++ % std::size(palette)];
    polyline(out, top, pts, c);
    out << "<text x='" << fmt(top.x0 + top.w + 12) << "' y='" << fmt(legend_y)
        << "' font-size='12' fill='" << c << "'>" << escape_xml(identity) << "</text>\n";
    legend_y += 16;
  }
  polyline(out, bottom, rate, "#333");
  for (const auto& f : faults) {
    for (const auto* p : {&top, &bottom})
      out << "<line x1='" << fmt(p->x(f.t)) << "' x2='" << fmt(p->x(f.t)) << "' y1='" << fmt(p->y0)
          << "' y2='" << fmt(p->y0 + p->h) << "' stroke='#d62728' stroke-dasharray='4,3'/>\n";
    out << "<text x='" << fmt(top.x(f.t) + 3) << "' y='" << fmt(top.y0 + top.h + 30)
        << "' font-size='11' fill='#d62728' transform='rotate(30 " << fmt(top.x(f.t) + 3) << ' '
        << fmt(top.y0 + top.h + 30) << ")'>" << escape_xml(f.label) << "</text>\n";
  }
  out << "</svg>\n";
  return out.str();
}

} // namespace sy::sim
