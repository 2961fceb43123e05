#define CAF_SUITE runtime.core.cpu_affinity
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/core/cpu_affinity.hpp"

#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>

using namespace sy;
using cpus = std::vector<int>;

namespace {

/// The "Cpus_allowed_list" of every thread of this process.
std::vector<std::string> thread_cpu_lists() {
  std::vector<std::string> out;
  for (const auto& task : std::filesystem::directory_iterator{"/proc/self/task"}) {
    std::ifstream in{task.path() / "status"};
    for (std::string line; std::getline(in, line);)
      if (line.rfind("Cpus_allowed_list:", 0) == 0)
        out.push_back(line.substr(line.find_first_not_of(" \t", 18)));
  }
  return out;
}

} // namespace

CAF_TEST(the server gets the last CPUs and the node the others) {
  auto split = split_cpus({0, 1, 2, 3}, 2);
  CAF_REQUIRE(split);
  CAF_CHECK_EQUAL(split->node, (cpus{0, 1}));
  CAF_CHECK_EQUAL(split->server, (cpus{2, 3}));
  // Each side keeps at least one CPU, whatever the server asks for.
  split = split_cpus({2, 5}, 4);
  CAF_REQUIRE(split);
  CAF_CHECK_EQUAL(split->node, cpus{2});
  CAF_CHECK_EQUAL(split->server, cpus{5});
  split = split_cpus({0, 1, 2}, 0);
  CAF_REQUIRE(split);
  CAF_CHECK_EQUAL(split->server, cpus{2});
  CAF_CHECK(!split_cpus({3}, 1));
  CAF_CHECK(!split_cpus({}, 1));
}

CAF_TEST(cpu lists read as linux writes them) {
  CAF_CHECK_EQUAL(cpu_list({0, 1, 2, 5, 7, 8}), "0-2,5,7-8");
  CAF_CHECK_EQUAL(cpu_list({3}), "3");
  CAF_CHECK_EQUAL(cpu_list({}), "");
}

CAF_TEST(a restricted process runs every thread on those cpus and new threads too) {
  auto allowed = allowed_cpus();
  CAF_REQUIRE(allowed && !allowed->empty());
  auto everywhere = cpu_list(*allowed);
  std::promise<void> stop;
  std::thread before{[done = stop.get_future()] { done.wait(); }};
  cpus first{allowed->front()};
  CAF_REQUIRE(restrict_process(first));
  auto lists = std::async(std::launch::async, thread_cpu_lists).get(); // from a new thread
  CAF_CHECK(!lists.empty());
  for (const auto& l : lists)
    CAF_CHECK_EQUAL(l, cpu_list(first));
  CAF_REQUIRE(restrict_process(*allowed));
  for (const auto& l : thread_cpu_lists())
    CAF_CHECK_EQUAL(l, everywhere);
  stop.set_value();
  before.join();
}
