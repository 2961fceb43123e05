#include "actors/api/api_server.hpp"

#include "actors/api/prometheus.hpp"
#include "runtime/log/log.hpp"
#include "runtime/ops/queues.hpp"
#include "runtime/ops/repair.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/pipeline/live_nodes.hpp"
#include "runtime/pipeline/producer.hpp"
#include "runtime/pipeline/schedule.hpp"
#include "runtime/task/codec.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <httplib.h>
#include <optional>
#include <thread>

namespace sy::actors {

/// The dashboard page (actors/api/dashboard.html, embedded at build time).
extern const char* const dashboard_html;

namespace {

using namespace std::chrono_literals;
using httplib::Request;
using httplib::Response;

/// How long a request waits for a scheduler actor.
constexpr auto actor_timeout = 10s;
constexpr std::size_t max_page = 500;
constexpr int max_pop = 100;

int status_of(errc code) {
  switch (code) {
  case errc::invalid_input:
  case errc::config:
    return 400;
  case errc::not_found:
    return 404;
  case errc::conflict:
    return 409;
  case errc::unavailable:
    return 503;
  default:
    return 500;
  }
}

void reply(Response& res, int status, const value& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void reply_error(Response& res, int status, const std::string& message) {
  reply(res, status, {{"error", message}});
}

void reply_error(Response& res, const error& e) {
  reply_error(res, status_of(e.code), e.message);
}

/// The body as a JSON object; an empty body reads as `{}`.
expected<value> body_object(const Request& req) {
  if (req.body.empty()) return value::object();
  auto j = value::parse(req.body, nullptr, false);
  if (j.is_discarded()) return make_error(errc::invalid_input, "the body is not JSON");
  if (!j.is_object()) return make_error(errc::invalid_input, "the body must be a JSON object");
  return j;
}

/// Query parameter `name` as a number in [lo, hi]; `fallback` when absent
/// or empty.
expected<std::uint64_t> number_param(const Request& req, const char* name, std::uint64_t fallback,
                                     std::uint64_t lo, std::uint64_t hi) {
  auto text = req.get_param_value(name);
  if (text.empty()) return fallback;
  char* end = nullptr;
  errno = 0;
  auto v = std::strtoull(text.c_str(), &end, 10);
  if (*end != '\0' || errno != 0 || text[0] == '-' || v < lo || v > hi)
    return make_error(errc::invalid_input, std::string{"query parameter "} + name +
                                               " must be a number from " + std::to_string(lo) +
                                               " to " + std::to_string(hi) + ", not \"" + text +
                                               "\"");
  return v;
}

/// Headers of a task from a request: a non-empty object of strings,
/// numbers and booleans.
expected<void> check_headers(const value& headers, const std::string& where) {
  if (!headers.is_object() || headers.empty())
    return make_error(errc::invalid_input, where + ": \"headers\" must be a non-empty object");
  for (const auto& [key, v] : headers.items())
    if (!(v.is_string() || v.is_number() || v.is_boolean()))
      return make_error(errc::invalid_input,
                        where + ": header \"" + key + "\" must be a string, number or boolean");
  return {};
}

expected<void> check_object(const value& body, const char* key, const std::string& where) {
  if (body.contains(key) && !body[key].is_object())
    return make_error(errc::invalid_input,
                      where + ": \"" + std::string{key} + "\" must be a JSON object");
  return {};
}

/// Reads a string field; absent → `fallback`.
expected<std::string> string_field(const value& body, const char* key, std::string fallback) {
  if (!body.contains(key)) return fallback;
  if (!body[key].is_string())
    return make_error(errc::invalid_input, "\"" + std::string{key} + "\" must be a string");
  return body[key].get<std::string>();
}

/// Constant-time comparison of the bearer token.
bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  return diff == 0 && !b.empty();
}

/// The fields a user may set on a schedule, merged into `s`.
expected<void> apply_schedule_fields(const value& body, pipeline::schedule& s) {
  try {
    if (body.contains("headers")) s.headers = body["headers"];
    if (body.contains("payload")) s.payload = body["payload"];
    if (body.contains("priority")) {
      auto p = parse_priority(body["priority"].get<std::string>());
      if (!p) return make_error(errc::invalid_input, "\"priority\" must be high, normal or low");
      s.priority = *p;
    }
    if (body.contains("every")) s.every = body["every"].get<double>();
    if (body.contains("cron")) s.cron = body["cron"].get<std::string>();
    if (body.contains("jitter")) s.jitter = body["jitter"].get<double>();
    if (body.contains("grace")) s.grace = body["grace"].get<double>();
    if (body.contains("enabled")) s.enabled = body["enabled"].get<bool>();
  } catch (const value::exception& e) {
    return make_error(errc::invalid_input,
                      std::string{"a schedule field has the wrong type: "} + e.what());
  }
  return pipeline::validate(s);
}

} // namespace

struct api_server::impl {
  config::api_options opts;
  api_deps deps;
  ops::session session;
  std::optional<pipeline::producer> producer;
  std::shared_ptr<broker::kv_bucket> schedules;
  httplib::Server http;
  std::thread thread;
  std::shared_ptr<spdlog::logger> log = log::get("api");

  void routes();

  // --- reading -------------------------------------------------------------

  void health(Response& res) {
    if (!deps.conn->is_connected())
      return reply_error(res, 503, "the broker connection is down; the node is reconnecting");
    reply(res, 200, {{"status", "ok"}, {"node", deps.node}});
  }

  void metrics(Response& res) {
    auto nodes = pipeline::read_live_nodes(*session.nodes);
    if (!nodes) return reply_error(res, nodes.error());
    // This node's own counters as they are now, not as of its last beat.
    for (auto& n : *nodes)
      if (n.name == deps.node) n.record["metrics"] = deps.metrics->to_json();
    auto queues = ops::list_queues(session, *nodes);
    if (!queues) return reply_error(res, queues.error());
    res.set_content(render_prometheus(*queues, *nodes), "text/plain; version=0.0.4");
  }

  void queue(const Request& req, Response& res, const std::string& identity) {
    auto limit = number_param(req, "limit", 50, 1, max_page);
    auto pending_after = number_param(req, "pending_after", 0, 0, UINT64_MAX);
    auto crashed_after = number_param(req, "crashed_after", 0, 0, UINT64_MAX);
    for (const auto* p : {&limit, &pending_after, &crashed_after})
      if (!*p) return reply_error(res, p->error());
    auto row = ops::describe_queue(session, identity);
    if (!row) return reply_error(res, row.error());
    auto pending = ops::pending_page(session, identity, {*pending_after, *limit});
    if (!pending) return reply_error(res, pending.error());
    auto crashed = ops::crashed_page(session, identity, {*crashed_after, *limit});
    if (!crashed) return reply_error(res, crashed.error());
    reply(res, 200, {{"queue", *row}, {"pending", *pending}, {"crashed", *crashed}});
  }

  void task(Response& res, const std::string& uid) {
    auto record = ops::find_record(*session.tasks, uid);
    if (!record) return reply_error(res, record.error());
    reply(res, 200, to_json(record->t));
  }

  // --- acting --------------------------------------------------------------

  void send(const Request& req, Response& res) {
    auto body = body_object(req);
    if (!body) return reply_error(res, body.error());
    const auto& b = *body;
    if (auto r = check_headers(b.value("headers", value{}), "task"); !r)
      return reply_error(res, r.error());
    if (auto r = check_object(b, "payload", "task"); !r) return reply_error(res, r.error());
    auto p = string_field(b, "priority", "normal");
    if (!p) return reply_error(res, p.error());
    auto prio = parse_priority(*p);
    if (!prio) return reply_error(res, 400, "\"priority\" must be high, normal or low");
    auto uid = producer->send(make_task(b["headers"], b.value("payload", value::object()), *prio));
    if (!uid) return reply_error(res, uid.error());
    reply(res, 201, {{"uid", *uid}});
  }

  void retry(Response& res, const std::string& uid) {
    auto next = ops::retry(session, uid);
    if (!next) return reply_error(res, next.error());
    reply(res, 200, {{"uid", uid}, {"retry_uid", *next}});
  }

  void cancel(Response& res, const std::string& uid) {
    auto record = ops::find_record(*session.tasks, uid);
    if (!record) return reply_error(res, record.error());
    if (record->t.status == task_status::crashed) {
      if (auto r = ops::remove_crashed(session, *record); !r) return reply_error(res, r.error());
      return reply(res, 200, {{"uid", uid}, {"removed", true}});
    }
    if (auto r = ops::cancel(session, uid); !r) return reply_error(res, r.error());
    reply(res, 200, {{"uid", uid}, {"cancelled", true}});
  }

  void retry_crashed(Response& res, const std::string& identity) {
    auto crashed = ops::crashed_records(session, identity);
    if (!crashed) return reply_error(res, crashed.error());
    value retried = value::array();
    for (const auto& r : *crashed) {
      auto next = ops::retry(session, r);
      if (!next) return reply_error(res, next.error());
      retried.push_back({{"uid", r.t.uid}, {"retry_uid", *next}});
    }
    reply(res, 200, {{"retried", retried}});
  }

  void cancel_crashed(Response& res, const std::string& identity) {
    auto crashed = ops::crashed_records(session, identity);
    if (!crashed) return reply_error(res, crashed.error());
    std::size_t removed = 0;
    for (const auto& r : *crashed) {
      if (auto done = ops::remove_crashed(session, r); !done) return reply_error(res, done.error());
      ++removed;
    }
    reply(res, 200, {{"removed", removed}});
  }

  // --- external workers ----------------------------------------------------

  void pop(const Request& req, Response& res, const std::string& identity) {
    auto limit = number_param(req, "limit", 1, 1, max_pop);
    if (!limit) return reply_error(res, limit.error());
    auto i = deps.external.find(identity);
    if (i == deps.external.end())
      return reply_error(res, 404,
                         "node " + deps.node + " serves no external identity \"" + identity +
                             "\" (a [[consumer]] with plugin = \"sy.external\")");
    caf::scoped_actor self{*deps.sys};
    self->request(i->second, actor_timeout, pop_atom::value, static_cast<int>(*limit))
        .receive(
            [&](const lease_batch& batch) {
              value tasks = value::array();
              for (const auto& t : batch.tasks)
                tasks.push_back({{"task", to_json(t.job)},
                                 {"lease", t.lease},
                                 {"lease_expires_at", t.expires_at}});
              reply(res, 200, {{"tasks", tasks}});
            },
            [&](const caf::error& e) {
              reply_error(res, 503,
                          "the scheduler of " + identity +
                              " did not answer: " + deps.sys->render(e));
            });
  }

  expected<lease_report> read_report(const Request& req, const std::string& uid) {
    auto body = body_object(req);
    if (!body) return body.error();
    const auto& b = *body;
    lease_report r;
    r.uid = uid;
    auto lease = string_field(b, "lease", "");
    auto status = string_field(b, "status", "");
    auto error = string_field(b, "error", "");
    for (const auto* f : {&lease, &status, &error})
      if (!*f) return f->error();
    if (lease->empty()) return make_error(errc::invalid_input, "\"lease\" is required");
    r.lease = *lease;
    r.error = *error;
    if (*status == "Finished")
      r.status = task_status::finished;
    else if (*status == "Crashed")
      r.status = task_status::crashed;
    else if (*status == "Started")
      r.status = task_status::started;
    else
      return make_error(errc::invalid_input,
                        "\"status\" must be Finished, Crashed or Started (extends the lease)");
    if (b.contains("children")) {
      if (!b["children"].is_array())
        return make_error(errc::invalid_input, "\"children\" must be an array");
      if (r.status != task_status::finished && !b["children"].empty())
        return make_error(errc::invalid_input, "only a Finished task can send children");
      for (const auto& c : b["children"]) {
        auto where = "child " + std::to_string(r.children.size());
        if (!c.is_object()) return make_error(errc::invalid_input, where + " must be an object");
        if (auto ok = check_headers(c.value("headers", value{}), where); !ok) return ok.error();
        for (auto key : {"payload", "headers_persistent", "payload_persistent"})
          if (auto ok = check_object(c, key, where); !ok) return ok.error();
        r.children.push_back(c);
      }
    }
    return r;
  }

  void report(const Request& req, Response& res, const std::string& uid) {
    auto r = read_report(req, uid);
    if (!r) return reply_error(res, r.error());
    caf::scoped_actor self{*deps.sys};
    // The lease is held by the scheduler of the task's identity; few
    // identities are external, so asking each is cheap.
    for (const auto& [identity, scheduler] : deps.external) {
      std::optional<report_reply> answer;
      self->request(scheduler, actor_timeout, report_atom::value, *r)
          .receive([&](const report_reply& a) { answer = a; }, [](const caf::error&) {});
      if (!answer || answer->what != report_reply::ok) continue;
      value out{{"uid", uid}, {"status", to_string(r->status)}};
      if (r->status == task_status::started) out["lease_expires_at"] = answer->expires_at;
      return reply(res, 200, out);
    }
    reply_error(res, 409,
                "no live lease \"" + r->lease + "\" for task " + uid + " on node " + deps.node +
                    ": it expired and the task went back to the queue, or it was never leased "
                    "here");
  }

  // --- schedules -----------------------------------------------------------

  /// The stored schedule `id`; "no schedule" (404) when there is none.
  expected<broker::kv_entry> schedule_entry(const std::string& id) {
    auto e = schedules->get(id);
    if (!e && e.error().code == errc::not_found)
      return make_error(errc::not_found, "no schedule \"" + id + "\"");
    return e;
  }

  void list_schedules(Response& res) {
    auto entries = schedules->entries(">");
    if (!entries) return reply_error(res, entries.error());
    value all = value::array();
    for (const auto& e : *entries)
      if (auto s = pipeline::schedule_from_json(value::parse(e.value, nullptr, false)))
        all.push_back(to_json(*s));
    reply(res, 200, {{"schedules", all}});
  }

  void add_schedule(const Request& req, Response& res) {
    auto body = body_object(req);
    if (!body) return reply_error(res, body.error());
    auto id = string_field(*body, "id", "");
    if (!id) return reply_error(res, id.error());
    pipeline::schedule s;
    s.id = *id;
    if (auto r = apply_schedule_fields(*body, s); !r) return reply_error(res, r.error());
    if (auto r = pipeline::plan_first_run(s, unix_now()); !r) return reply_error(res, r.error());
    if (auto r = schedules->create(s.id, to_json(s).dump()); !r) {
      if (r.error().code == errc::conflict)
        return reply_error(res, 409, "schedule \"" + s.id + "\" exists; PATCH or DELETE it");
      return reply_error(res, r.error());
    }
    reply(res, 201, to_json(s));
  }

  void change_schedule(const Request& req, Response& res, const std::string& id) {
    auto body = body_object(req);
    if (!body) return reply_error(res, body.error());
    if (body->contains("id") && (*body)["id"] != id)
      return reply_error(res, 400, "the id of a schedule cannot change");
    // Read, change, write on the revision read: a run recorded meanwhile
    // makes us read again.
    for (int attempt = 0; attempt < 5; ++attempt) {
      auto e = schedule_entry(id);
      if (!e) return reply_error(res, e.error());
      auto s = pipeline::schedule_from_json(value::parse(e->value, nullptr, false));
      if (!s) return reply_error(res, s.error());
      auto before = *s;
      if (auto r = apply_schedule_fields(*body, *s); !r) return reply_error(res, r.error());
      if (s->every != before.every || s->cron != before.cron)
        if (auto r = pipeline::plan_first_run(*s, unix_now()); !r)
          return reply_error(res, r.error());
      s->created_at = before.created_at;
      auto r = schedules->update(id, to_json(*s).dump(), e->revision);
      if (r) return reply(res, 200, to_json(*s));
      if (r.error().code != errc::conflict) return reply_error(res, r.error());
    }
    reply_error(res, 409, "schedule \"" + id + "\" keeps changing; try again");
  }

  void remove_schedule(Response& res, const std::string& id) {
    auto e = schedule_entry(id);
    if (!e) return reply_error(res, e.error());
    if (auto r = schedules->erase(id); !r) return reply_error(res, r.error());
    reply(res, 200, {{"id", id}, {"removed", true}});
  }
};

void api_server::impl::routes() {
  auto& h = http;
  h.set_payload_max_length(static_cast<std::size_t>(opts.max_body));
  // Small JSON replies: no Nagle delay against the client's delayed acks.
  h.set_tcp_nodelay(true);
  h.set_pre_routing_handler([this](const Request& req, Response& res) {
    if (opts.token.empty() || req.path == "/health" || req.path == "/")
      return httplib::Server::HandlerResponse::Unhandled;
    auto auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) == 0 && same_secret(auth.substr(7), opts.token))
      return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("WWW-Authenticate", "Bearer");
    reply_error(res, 401, "this API needs \"Authorization: Bearer <token>\" ([api] token)");
    return httplib::Server::HandlerResponse::Handled;
  });
  h.set_error_handler([](const Request& req, Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413)
      return reply_error(res, 413, "the request body is larger than [api] max_body");
    if (res.status == 404)
      return reply_error(res, 404, "no route " + req.method + " " + req.path + " (docs/API.md)");
    reply_error(res, res.status, "HTTP " + std::to_string(res.status));
  });
  h.set_exception_handler([this](const Request& req, Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    log->error("{} {}: {}", req.method, req.path, what);
    reply_error(res, 500, "internal error: " + what);
  });
  auto m1 = [](const Request& req) { return std::string{req.matches[1]}; };

  h.Get("/", [](const Request&, Response& res) { res.set_content(dashboard_html, "text/html"); });
  h.Get("/health", [this](const Request&, Response& res) { health(res); });
  h.Get("/metrics", [this](const Request&, Response& res) { metrics(res); });
  h.Get("/api/queues", [this](const Request&, Response& res) {
    auto queues = ops::list_queues(session);
    if (!queues) return reply_error(res, queues.error());
    reply(res, 200, {{"queues", *queues}});
  });
  h.Get(R"(/api/queues/([^/]+))",
        [this, m1](const Request& req, Response& res) { queue(req, res, m1(req)); });
  h.Post(R"(/api/queues/([^/]+)/pop)",
         [this, m1](const Request& req, Response& res) { pop(req, res, m1(req)); });
  h.Post(R"(/api/queues/([^/]+)/retry-crashed)",
         [this, m1](const Request& req, Response& res) { retry_crashed(res, m1(req)); });
  h.Post(R"(/api/queues/([^/]+)/cancel-crashed)",
         [this, m1](const Request& req, Response& res) { cancel_crashed(res, m1(req)); });
  h.Post("/api/tasks", [this](const Request& req, Response& res) { send(req, res); });
  h.Get(R"(/api/tasks/([^/]+))",
        [this, m1](const Request& req, Response& res) { task(res, m1(req)); });
  h.Patch(R"(/api/tasks/([^/]+))",
          [this, m1](const Request& req, Response& res) { report(req, res, m1(req)); });
  h.Post(R"(/api/tasks/([^/]+)/retry)",
         [this, m1](const Request& req, Response& res) { retry(res, m1(req)); });
  h.Post(R"(/api/tasks/([^/]+)/cancel)",
         [this, m1](const Request& req, Response& res) { cancel(res, m1(req)); });
  h.Get(R"(/api/analyses/([^/]+))", [this, m1](const Request& req, Response& res) {
    auto tree = ops::analysis(session, m1(req));
    if (!tree) return reply_error(res, tree.error());
    reply(res, 200, *tree);
  });
  h.Get("/api/schedules", [this](const Request&, Response& res) { list_schedules(res); });
  h.Post("/api/schedules", [this](const Request& req, Response& res) { add_schedule(req, res); });
  h.Patch(R"(/api/schedules/([^/]+))",
          [this, m1](const Request& req, Response& res) { change_schedule(req, res, m1(req)); });
  h.Delete(R"(/api/schedules/([^/]+))",
           [this, m1](const Request& req, Response& res) { remove_schedule(res, m1(req)); });
}

expected<std::unique_ptr<api_server>> api_server::start(const config::api_options& opts,
                                                        api_deps deps) {
  auto state = std::make_unique<impl>();
  state->opts = opts;
  state->deps = std::move(deps);
  auto session = ops::open_session(state->deps.conn);
  if (!session) return session.error();
  state->session = std::move(*session);
  auto producer = pipeline::producer::open(state->deps.conn);
  if (!producer) return producer.error();
  state->producer.emplace(std::move(*producer));
  auto schedules = broker::kv_bucket::open(state->deps.conn, pipeline::schedules_bucket);
  if (!schedules) return schedules.error();
  state->schedules = std::make_shared<broker::kv_bucket>(std::move(*schedules));
  state->routes();
  auto colon = opts.listen.rfind(':');
  auto host = opts.listen.substr(0, colon);
  auto port = std::atoi(opts.listen.c_str() + colon + 1);
  if (port == 0)
    port = state->http.bind_to_any_port(host);
  else if (!state->http.bind_to_port(host, port))
    port = -1;
  if (port <= 0)
    return make_error(errc::config, "[api] listen = \"" + opts.listen +
                                        "\": cannot listen there (address in use, or not an "
                                        "address of this host)");
  auto* http = &state->http;
  state->thread = std::thread([http] { http->listen_after_bind(); });
  state->log->info("HTTP API and dashboard on http://{}:{}/{}", host, port,
                   opts.token.empty() ? "" : " (bearer token required)");
  std::unique_ptr<api_server> out{new api_server(std::move(state))};
  out->port_ = port;
  return out;
}

api_server::api_server(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

api_server::~api_server() {
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

} // namespace sy::actors
