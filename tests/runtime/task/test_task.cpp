#define CAF_SUITE runtime.task
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/task/codec.hpp"
#include "runtime/task/task.hpp"
#include "runtime/task/uid.hpp"

#include <msgpack.hpp>
#include <random>
#include <set>

using namespace sy;

namespace {

task sample_task() {
  task t = make_task({{"type", "sample"}, {"kind", "raw"}, {"size", 42}, {"tags", {"a", "b"}}},
                     {{"note", "é ünïcode"},
                      {"blob", value::binary({0, 1, 2, 255})},
                      {"ext", value::binary({7, 8}, 3)},
                      {"nested", {{"x", {1.5, nullptr}}}}},
                     priority::high, {{"origin", "cli"}}, {{"case", 7}});
  t.status = task_status::started;
  t.error = "boom";
  t.receiver = "classifier";
  t.attempt = 3;
  t.score = -1.25;
  t.parent_uid = new_uid();
  t.orig_uid = new_uid();
  return t;
}

std::string pack_map(const std::map<std::string, msgpack::object>& fields, msgpack::zone& zone) {
  (void)zone;
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, fields);
  return {buffer.data(), buffer.size()};
}

} // namespace

CAF_TEST(a task survives an encode decode round trip with every field) {
  auto t = sample_task();
  auto decoded = decode_task(encode(t));
  CAF_CHECK(decoded.has_value());
  if (decoded) CAF_CHECK(*decoded == t);
}

CAF_TEST(a record lists the tasks it spawned and forks and retries do not inherit it) {
  auto t = sample_task();
  t.spawned = {"child-1", "child-2"};
  auto decoded = decode_task(encode(t));
  CAF_REQUIRE(decoded.has_value());
  CAF_CHECK_EQUAL(decoded->spawned, t.spawned);
  CAF_CHECK(fork_for(t, "x").spawned.empty());
  CAF_CHECK(make_retry(t).spawned.empty());
  CAF_CHECK(encode(sample_task()).find("spawned") == std::string::npos);
}

CAF_TEST(a sole fork says so in every copy and forks and retries do not inherit it) {
  auto root = make_task({{"type", "sample"}}, {{"n", 1}});
  auto fork = fork_for(root, "classifier");
  CAF_CHECK(encode(fork).find("sole_fork") == std::string::npos);
  fork.sole_fork = true;
  auto decoded = decode_task(encode(fork));
  CAF_REQUIRE(decoded.has_value());
  CAF_CHECK(decoded->sole_fork);
  CAF_CHECK(*decoded == fork);
  CAF_CHECK(to_json(fork)["sole_fork"] == true);
  CAF_CHECK(!fork_for(fork, "other").sole_fork);
  CAF_CHECK(!make_retry(fork).sole_fork);
  msgpack::zone zone;
  auto not_bool = pack_map({{"uid", msgpack::object("u", zone)},
                            {"headers", msgpack::object(std::map<std::string, int>{}, zone)},
                            {"sole_fork", msgpack::object(1, zone)}},
                           zone);
  CAF_CHECK(decode_task(not_bool).error().message.find("\"sole_fork\" is not a boolean") !=
            std::string::npos);
}

CAF_TEST(the routed record made up for the root of a sole fork is the one its router would write) {
  auto root = make_task({{"type", "sample"}}, {{"n", 1}}, priority::high);
  auto fork = fork_for(root, "classifier");
  fork.sole_fork = true;
  fork.status = task_status::started;
  fork.attempt = 2;
  auto made_up = routed_root_of(fork);
  auto written = routed_record(root, {fork.uid});
  written.last_update = made_up.last_update;
  CAF_CHECK(made_up == written);
  CAF_CHECK_EQUAL(made_up.uid, root.uid);
  CAF_CHECK(made_up.status == task_status::finished);
  CAF_CHECK_EQUAL(made_up.spawned, std::vector<std::string>{fork.uid});
}

CAF_TEST(unknown top level keys are kept when a task is re encoded) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  pk.pack_map(4);
  pk.pack(std::string{"uid"});
  pk.pack(std::string{"u-1"});
  pk.pack(std::string{"headers"});
  pk.pack_map(0);
  pk.pack(std::string{"x_future"});
  pk.pack(std::vector<int>{1, 2, 3});
  pk.pack(std::string{"x_flag"});
  pk.pack(true);
  auto first = decode_task({buffer.data(), buffer.size()});
  CAF_CHECK(first.has_value());
  if (!first) return;
  CAF_CHECK_EQUAL(first->unknown_fields.size(), 2u);
  auto second = decode_task(encode(*first));
  CAF_CHECK(second.has_value());
  if (!second) return;
  CAF_CHECK(second->unknown_fields == first->unknown_fields);
  auto handle = msgpack::unpack(second->unknown_fields[0].second.data(),
                                second->unknown_fields[0].second.size());
  CAF_CHECK_EQUAL(handle.get().as<std::vector<int>>(), (std::vector<int>{1, 2, 3}));
  CAF_CHECK_EQUAL(second->unknown_fields[1].first, "x_flag");
}

CAF_TEST(a minimal task from another client gets defaults) {
  msgpack::zone zone;
  auto bytes = pack_map({{"uid", msgpack::object("abc", zone)},
                         {"headers", msgpack::object(std::map<std::string, int>{{"n", 1}}, zone)}},
                        zone);
  auto t = decode_task(bytes);
  CAF_CHECK(t.has_value());
  if (!t) return;
  CAF_CHECK_EQUAL(t->root_uid, "abc");
  CAF_CHECK(t->priority == priority::normal);
  CAF_CHECK(t->status == task_status::declared);
  CAF_CHECK_EQUAL(t->headers["n"], 1);
  CAF_CHECK(t->payload.is_object() && t->payload.empty());
}

CAF_TEST(every truncation of a valid task is an error and never a crash) {
  auto bytes = encode(sample_task());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto t = decode_task(std::string_view{bytes.data(), n});
    CAF_CHECK(!t.has_value());
  }
}

CAF_TEST(random garbage is rejected without exceptions) {
  std::mt19937 gen(1234);
  auto valid = encode(sample_task());
  size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = valid;
    // Flip a few random bytes of a valid task, or use pure noise.
    if (i % 2 == 0) {
      for (int k = 0; k < 3; ++k)
        bytes[gen() % bytes.size()] = static_cast<char>(gen());
    } else {
      bytes.resize(gen() % 64);
      for (auto& c : bytes)
        c = static_cast<char>(gen());
    }
    auto t = decode_task(bytes);
    if (t)
      ++accepted; // a flipped byte inside a string is still a valid task
    else
      CAF_CHECK(t.error().message.rfind("malformed task: ", 0) == 0);
  }
  CAF_MESSAGE(accepted << " of 20000 mutated inputs were still valid tasks");
}

CAF_TEST(oversized input and forged lengths are refused up front) {
  decode_limits small;
  small.max_bytes = 16;
  auto big = decode_task(encode(sample_task()), small);
  CAF_CHECK(!big.has_value());
  CAF_CHECK(big.error().message.find("exceed the limit") != std::string::npos);
  // array32 claiming 4 billion elements, followed by nothing.
  std::string forged = "\x81\xa7headers\xdd\xff\xff\xff\xff";
  CAF_CHECK(!decode_task(forged).has_value());
  std::string forged_map = "\xdf\xff\xff\xff\xff";
  CAF_CHECK(!decode_task(forged_map).has_value());
}

CAF_TEST(nesting deeper than the limit is an error) {
  value deep = value::object();
  value* cursor = &deep;
  for (int i = 0; i < 200; ++i)
    cursor = &((*cursor)["d"] = value::object());
  task t = make_task({{"type", "x"}}, deep);
  auto r = decode_task(encode(t));
  CAF_CHECK(!r.has_value());
  CAF_CHECK(r.error().message.find("nesting deeper") != std::string::npos);
}

CAF_TEST(ill typed fields name the field) {
  msgpack::zone zone;
  auto no_uid = pack_map({{"headers", msgpack::object(std::map<std::string, int>{}, zone)}}, zone);
  auto missing = decode_task(no_uid);
  CAF_CHECK_EQUAL(missing.error().message, "malformed task: field \"uid\" is missing");
  auto bad_headers =
      pack_map({{"uid", msgpack::object("u", zone)}, {"headers", msgpack::object(5, zone)}}, zone);
  CAF_CHECK(decode_task(bad_headers).error().message.find("\"headers\" is not a map") !=
            std::string::npos);
  auto bad_priority = pack_map({{"uid", msgpack::object("u", zone)},
                                {"headers", msgpack::object(std::map<std::string, int>{}, zone)},
                                {"priority", msgpack::object("urgent", zone)}},
                               zone);
  CAF_CHECK(decode_task(bad_priority).error().message.find("\"priority\"") != std::string::npos);
  auto bad_version = pack_map({{"uid", msgpack::object("u", zone)},
                               {"headers", msgpack::object(std::map<std::string, int>{}, zone)},
                               {"v", msgpack::object(2, zone)}},
                              zone);
  CAF_CHECK(decode_task(bad_version).error().message.find("wire version") != std::string::npos);
  CAF_CHECK(decode_task("\x93\x01\x02\x03").error().message.find("not a msgpack map") !=
            std::string::npos);
  auto trailing = encode(sample_task()) + "x";
  CAF_CHECK(decode_task(trailing).error().message.find("trailing") != std::string::npos);
}

CAF_TEST(new uids are version 4 and unique) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    auto uid = new_uid();
    CAF_CHECK(is_uid(uid));
    CAF_CHECK_EQUAL(uid[14], '4');
    seen.insert(uid);
  }
  CAF_CHECK_EQUAL(seen.size(), 10000u);
}

CAF_TEST(fork uids are deterministic per orig uid and identity) {
  auto orig = new_uid();
  auto a = fork_uid(orig, "classifier");
  CAF_CHECK_EQUAL(a, fork_uid(orig, "classifier"));
  CAF_CHECK(is_uid(a));
  CAF_CHECK_EQUAL(a[14], '5');
  CAF_CHECK_NOT_EQUAL(a, fork_uid(orig, "unpacker"));
  CAF_CHECK_NOT_EQUAL(a, fork_uid(new_uid(), "classifier"));
  // The separator keeps concatenations apart.
  CAF_CHECK_NOT_EQUAL(fork_uid("ab", "c"), fork_uid("a", "bc"));
  // A fixed input gives a fixed uid across builds and machines.
  CAF_CHECK_EQUAL(fork_uid("00000000-0000-4000-8000-000000000000", "classifier"),
                  fork_uid("00000000-0000-4000-8000-000000000000", "classifier"));
}

CAF_TEST(forking keeps the tree and sets receiver and status) {
  auto root = make_task({{"type", "sample"}}, {}, priority::low);
  auto fork = fork_for(root, "classifier");
  CAF_CHECK_EQUAL(fork.uid, fork_uid(root.uid, "classifier"));
  CAF_CHECK_EQUAL(fork.orig_uid, root.uid);
  CAF_CHECK_EQUAL(fork.root_uid, root.uid);
  CAF_CHECK_EQUAL(fork.receiver, "classifier");
  CAF_CHECK(fork.status == task_status::spawned);
  CAF_CHECK(fork.priority == priority::low);
}

CAF_TEST(children inherit persistent headers payload and the root priority) {
  auto root = make_task({{"type", "sample"}}, {{"p", 1}}, priority::high, {{"source", "feed"}},
                        {{"case", "A"}});
  auto routed = fork_for(root, "classifier");
  auto child = derive_child(routed, {{"type", "sample"}, {"source", "override"}, {"k", "v"}},
                            {{"case", "B"}, {"q", 2}}, {{"stage", "2"}});
  CAF_CHECK_EQUAL(child.parent_uid, routed.uid);
  CAF_CHECK_EQUAL(child.root_uid, root.uid);
  CAF_CHECK(child.priority == priority::high);
  CAF_CHECK_EQUAL(child.headers["source"], "feed");
  CAF_CHECK_EQUAL(child.headers["stage"], "2");
  CAF_CHECK_EQUAL(child.headers["k"], "v");
  CAF_CHECK_EQUAL(child.payload["case"], "A");
  CAF_CHECK_EQUAL(child.payload["q"], 2);
  auto grandchild = derive_child(child, {{"type", "report"}}, {}, {{"source", "again"}});
  CAF_CHECK_EQUAL(grandchild.headers["source"], "feed");
  CAF_CHECK_EQUAL(grandchild.headers["stage"], "2");
  CAF_CHECK(grandchild.priority == priority::high);
}

CAF_TEST(a retry points at the crashed task) {
  auto crashed = fork_for(make_task({{"type", "x"}}), "a");
  crashed.status = task_status::crashed;
  crashed.error = "boom";
  crashed.attempt = 5;
  auto retry = make_retry(crashed);
  CAF_CHECK_NOT_EQUAL(retry.uid, crashed.uid);
  CAF_CHECK_EQUAL(retry.orig_uid, crashed.uid);
  CAF_CHECK_EQUAL(retry.root_uid, crashed.root_uid);
  CAF_CHECK(retry.status == task_status::spawned);
  CAF_CHECK(retry.error.empty());
  CAF_CHECK_EQUAL(retry.attempt, 0u);
}

CAF_TEST(the json view shows binary as base64 and reads back) {
  auto t = sample_task();
  auto json = to_json(t);
  CAF_CHECK_EQUAL(json["payload"]["blob"], "AAEC/w==");
  CAF_CHECK_EQUAL(json["status"], "Started");
  CAF_CHECK_EQUAL(json["priority"], "high");
  auto back = task_from_json(json);
  CAF_CHECK(back.has_value());
  if (back) {
    CAF_CHECK_EQUAL(back->uid, t.uid);
    CAF_CHECK_EQUAL(back->headers, t.headers);
  }
  CAF_CHECK(!task_from_json(value{{"payload", {}}}).has_value());
  CAF_CHECK(!task_from_json(value{{"headers", {}}, {"priority", "urgent"}}).has_value());
  auto fresh = task_from_json(value{{"headers", {{"type", "x"}}}});
  CAF_CHECK(fresh.has_value() && is_uid(fresh->uid) && fresh->root_uid == fresh->uid);
}
