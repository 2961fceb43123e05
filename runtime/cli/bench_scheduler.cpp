#include "runtime/cli/bench_scheduler.hpp"

#include "runtime/cli/command.hpp"
#include "runtime/core/value.hpp"
#include "runtime/scheduling/ranked_queue.hpp"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace sy::cli {

int run_scheduler_bench(long operations, bool json) {
  using namespace sy::scheduling;
  if (operations <= 0) operations = 2'000'000;
  // A steady queue of about 10,000 waiting tasks, fed from 50,000 distinct
  // hashes, so about a fifth of the pushes meet their hash still waiting:
  // duplicates, or updates when the priority class changed.
  constexpr std::size_t backlog = 10'000;
  constexpr std::size_t distinct = 50'000;
  std::mt19937_64 rng{7};
  std::vector<queue_item<std::uint64_t>> items;
  items.reserve(distinct);
  for (std::size_t i = 0; i < distinct; ++i) {
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(rng()));
    items.push_back(
        {hash, static_cast<double>(rng() % 1000), static_cast<int>(rng() % 3), "", false, i});
  }
  ranked_queue<std::uint64_t> queue{{0, false, false, true}};
  std::map<push_result, long> results;
  auto push_one = [&] {
    auto next = items[rng() % distinct];
    next.priority = static_cast<int>(rng() % 3);
    results[queue.push(std::move(next))]++;
  };
  while (queue.size() < backlog)
    push_one();
  results.clear();

  long done = 0;
  auto start = std::chrono::steady_clock::now();
  while (done < operations) {
    push_one();
    ++done;
    if (queue.size() > backlog) {
      (void)queue.pop();
      ++done;
    }
  }
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  auto per_second = static_cast<double>(done) / took.count();
  if (json) {
    value counts = value::object();
    for (const auto& [r, n] : results)
      counts[to_string(r)] = n;
    std::cout << value{{"scenario", "scheduler"}, {"operations", done}, {"seconds", took.count()},
                       {"ops_per_s", per_second}, {"backlog", backlog}, {"pushes", counts}}
                     .dump()
              << '\n';
  } else {
    std::cout << "scenario    scheduler (priority queue, dedup by hash, allow_priority_updates)\n"
              << "operations  " << done << " (push + pop, backlog " << backlog << ")\n"
              << "seconds     " << took.count() << "\n"
              << "ops/s       " << static_cast<long>(per_second) << "\n"
              << "pushes      ";
    for (const auto& [r, n] : results)
      std::cout << to_string(r) << " " << n << "  ";
    std::cout << '\n';
  }
  return exit_ok;
}

} // namespace sy::cli
