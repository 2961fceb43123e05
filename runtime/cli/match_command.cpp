#include "runtime/cli/command.hpp"
#include "runtime/filter/filter_set.hpp"

#include <iostream>

namespace sy::cli {

namespace {

struct match_options {
  std::string filters;
  std::string headers;
  bool json = false;
};

int run_match(const match_options& opts) {
  auto filters = filter::filter_set::parse(opts.filters);
  if (!filters) return usage_error("--filters: " + filters.error().message);
  auto headers = value::parse(opts.headers, nullptr, false);
  if (headers.is_discarded()) return usage_error("--headers: invalid JSON");
  if (!headers.is_object())
    return usage_error("--headers: expected a JSON object of header names to values");
  bool matched = filters->matches(headers);
  if (opts.json)
    std::cout << value{{"match", matched}}.dump() << '\n';
  else
    std::cout << (matched ? "match" : "no match") << '\n';
  return matched ? exit_ok : exit_negative;
}

} // namespace

void add_match_command(CLI::App& app, int& result) {
  auto opts = std::make_shared<match_options>();
  auto cmd = app.add_subcommand(
      "match", "Check whether a task's headers match a bind's filters (exit 0 match, 1 no match)");
  cmd->add_option("--filters", opts->filters,
                  "JSON list of filter rules, e.g. '[{\"type\":\"sample\"}]'")
      ->required();
  cmd->add_option("--headers", opts->headers, "JSON object of task headers")->required();
  cmd->add_flag("--json", opts->json, "Print {\"match\": true|false}");
  cmd->callback([opts, &result] { result = run_match(*opts); });
}

} // namespace sy::cli
