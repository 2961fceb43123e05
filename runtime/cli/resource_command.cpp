// `switchyard resource get|ls`: the files attached to tasks
// (docs/RESOURCES.md).

#include "runtime/cli/command.hpp"
#include "runtime/cli/ops_common.hpp"
#include "runtime/pipeline/layout.hpp"
#include "runtime/pipeline/resource_store.hpp"

#include <iostream>
#include <set>

namespace sy::cli {

namespace {

struct get_options {
  ops_flags flags;
  std::string uid;
  std::string name;
  std::string output;
};

int run_get(const get_options& opts) {
  auto session = open_session(opts.flags, "resource");
  if (!session) return failed(session.error());
  // The task's own record, or else any record of the analysis it is the
  // root of (the root's record goes once it is routed; a crashed fork's stays).
  std::vector<task_record> records;
  auto own = find_record(*session->tasks, opts.uid);
  if (own) {
    records.push_back(std::move(*own));
  } else if (own.error().code != errc::not_found) {
    return failed(own.error());
  } else {
    auto tree = read_records(*session->tasks, opts.uid + ".>");
    if (!tree) return failed(tree.error());
    records = std::move(*tree);
  }
  if (records.empty())
    return negative("no record of task " + opts.uid +
                    " (unknown, or its analysis finished and was cleaned up with its resources)");
  // By the resource's file name, or by the payload key holding it.
  std::optional<resource_ref> ref;
  std::set<std::string> names;
  for (const auto& record : records) {
    const auto& payload = record.t.payload;
    if (!ref && payload.contains(opts.name)) ref = as_resource(payload[opts.name]);
    for (const auto& r : find_resources(payload)) {
      names.insert(r.name);
      if (!ref && r.name == opts.name) ref = r;
    }
  }
  if (!ref) {
    std::string known;
    for (const auto& n : names)
      known += (known.empty() ? "" : ", ") + n;
    return negative("task " + opts.uid + " has no resource \"" + opts.name + "\"" +
                    (known.empty() ? " (it has none)" : " (it has: " + known + ")"));
  }
  auto output = opts.output.empty() ? ref->name : opts.output;
  pipeline::resource_store store{session->conn};
  if (auto r = resource{*ref, store}.download_to(output); !r) return failed(r.error());
  if (opts.flags.json)
    std::cout << value{{"path", output}, {"resource", to_value(*ref)}}.dump() << '\n';
  else
    std::cout << output << ": " << ref->size << " bytes, " << ref->sha256 << '\n';
  return exit_ok;
}

int run_ls(const ops_flags& flags) {
  auto session = open_session(flags, "resource");
  if (!session) return failed(session.error());
  pipeline::resource_store store{session->conn};
  auto bucket = store.bucket(pipeline::resources_bucket);
  if (!bucket) return failed(bucket.error());
  auto objects = (*bucket)->list();
  if (!objects) return failed(objects.error());
  value all = value::array();
  std::vector<std::vector<std::string>> table{{"OBJECT", "NAME", "SIZE", "TASK", "STORED"}};
  std::uint64_t total = 0;
  for (const auto& o : *objects) {
    all.push_back(to_json(o));
    auto meta = [&](const char* key) {
      auto i = o.metadata.find(key);
      return i == o.metadata.end() ? std::string{"-"} : i->second;
    };
    table.push_back({o.name, meta("name"), std::to_string(o.size), meta("task"), o.mtime});
    total += o.size;
  }
  if (flags.json) {
    std::cout << all.dump() << '\n';
  } else {
    print_table(table);
    std::cout << objects->size() << " resource(s), " << total << " bytes\n";
  }
  return exit_ok;
}

} // namespace

void add_resource_commands(CLI::App& app, int& result) {
  auto cmd = app.add_subcommand("resource", "Files attached to tasks (bucket sy_resources)");
  cmd->require_subcommand(1);
  auto get = std::make_shared<get_options>();
  auto g = cmd->add_subcommand("get", "Download a task's resource (digest checked)");
  g->add_option("uid", get->uid, "The task's uid")->required();
  g->add_option("name", get->name, "The resource's file name or payload key")->required();
  g->add_option("-o,--output", get->output, "Where to write it (default: its file name)");
  get->flags.add_to(g);
  g->callback([get, &result] { result = run_get(*get); });
  auto ls = std::make_shared<ops_flags>();
  auto l = cmd->add_subcommand("ls", "List the stored resources with their sizes");
  ls->add_to(l);
  l->callback([ls, &result] { result = run_ls(*ls); });
}

} // namespace sy::cli
