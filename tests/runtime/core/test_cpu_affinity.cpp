#define CAF_SUITE runtime.core.cpu_affinity
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/core/cpu_affinity.hpp"

#include <charconv>
#include <filesystem>
#include <future>
#include <set>
#include <string>
#include <thread>

using namespace sy;
using cpus = std::vector<int>;

namespace {

/// The CPUs of each thread of this process, as lists.
std::set<std::string> thread_cpu_lists() {
  std::set<std::string> out;
  for (const auto& task : std::filesystem::directory_iterator{"/proc/self/task"}) {
    auto name = task.path().filename().string();
    pid_t tid = 0;
    std::from_chars(name.data(), name.data() + name.size(), tid);
    if (auto allowed = allowed_cpus(tid)) out.insert(cpu_list(*allowed));
  }
  return out;
}

} // namespace

CAF_TEST(the server gets the last cpus and the node the others) {
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
  auto one = split_cpus({3}, 1);
  CAF_REQUIRE(!one);
  CAF_CHECK_EQUAL(one.error().message, "a split needs 2 CPUs; this process may run on CPUs 3 only");
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
  if (allowed->size() < 2) {
    CAF_MESSAGE("one CPU only: nothing to restrict to");
    return;
  }
  auto everywhere = cpu_list(*allowed);
  std::promise<void> stop;
  std::thread before{[done = stop.get_future()] { done.wait(); }};
  cpus first{allowed->front()};
  CAF_REQUIRE(restrict_process(first));
  // Listed from a thread started after the restriction.
  auto lists = std::async(std::launch::async, thread_cpu_lists).get();
  CAF_CHECK_EQUAL(lists, std::set<std::string>{cpu_list(first)});
  CAF_REQUIRE(restrict_process(*allowed));
  CAF_CHECK_EQUAL(thread_cpu_lists(), std::set<std::string>{everywhere});
  // A CPU number out of range changes nothing.
  auto bad = restrict_process({-1});
  CAF_REQUIRE(!bad);
  CAF_CHECK_EQUAL(bad.error().message, "no such CPU: -1");
  CAF_CHECK_EQUAL(thread_cpu_lists(), std::set<std::string>{everywhere});
  stop.set_value();
  before.join();
}
