#define CAF_SUITE runtime.broker.object_store
#include "caf/test/unit_test.hpp"
#include "caf/test/unit_test_impl.hpp"
#include "runtime/broker/object_store.hpp"
#include "tests/runtime/broker/broker_fixture.hpp"

#include <random>

using namespace sy;
using namespace sy::broker;
using namespace sy::broker::testing;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t small_chunk = 1024;

struct object_fixture : broker_fixture {
  std::optional<object_store> store;

  object_fixture() {
    object_store_options opts;
    opts.bucket = "samples";
    opts.chunk_size = small_chunk;
    auto s = object_store::ensure(conn, opts);
    if (!s) CAF_FAIL(s.error().message);
    store.emplace(std::move(*s));
  }

  std::uint64_t messages_on(const std::string& subject) {
    auto st = stream_info(*conn, "OBJ_samples");
    if (!st) return 0;
    auto reply = conn->request("$JS.API.STREAM.INFO.OBJ_samples",
                               value{{"subjects_filter", subject}}.dump(), 5s);
    if (!reply) return 0;
    auto j = value::parse(reply->data());
    std::uint64_t n = 0;
    if (j["state"].contains("subjects"))
      for (const auto& [_, count] : j["state"]["subjects"].items())
        n += count.get<std::uint64_t>();
    return n;
  }
};

/// `size` bytes of a repeatable pseudo-random sequence, produced in pieces.
struct generated {
  std::uint64_t size;
  std::uint64_t at = 0;
  std::mt19937_64 rng{42};
  expected<std::size_t> read(char* buf, std::size_t n) {
    auto k = static_cast<std::size_t>(std::min<std::uint64_t>(n, size - at));
    for (std::size_t i = 0; i < k; ++i)
      buf[i] = static_cast<char>(rng() & 0xff);
    at += k;
    return k;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(object_store_tests, object_fixture)

CAF_TEST(round trips of empty small and chunk boundary sizes) {
  for (std::size_t size :
       {std::size_t{0}, std::size_t{5}, std::size_t{small_chunk - 1}, std::size_t{small_chunk},
        std::size_t{small_chunk + 1}, std::size_t{3 * small_chunk}}) {
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
      data[i] = static_cast<char>(i * 7 + 3);
    auto name = "object-" + std::to_string(size);
    auto put = store->put_bytes(name, data);
    SY_REQUIRE(put.has_value());
    CAF_CHECK_EQUAL(put->size, size);
    CAF_CHECK_EQUAL(put->chunks, (size + small_chunk - 1) / small_chunk);
    auto back = store->get_bytes(name);
    SY_REQUIRE(back.has_value());
    CAF_CHECK(*back == data);
  }
}

CAF_TEST(digests are the clients sha256 in base64url) {
  auto empty = store->put_bytes("empty", "");
  auto hello = store->put_bytes("hello", "hello");
  SY_REQUIRE(empty && hello);
  CAF_CHECK_EQUAL(empty->digest, "SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=");
  CAF_CHECK_EQUAL(hello->digest, "SHA-256=LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=");
}

CAF_TEST(the layout is the nats object store layout) {
  auto put = store->put_bytes("dir/report.pdf", std::string(2500, 'x'));
  SY_REQUIRE(put.has_value());
  // Metadata: the last message on $O.<bucket>.M.<base64url(name)>.
  CAF_CHECK_EQUAL(base64url("dir/report.pdf"), "ZGlyL3JlcG9ydC5wZGY=");
  auto reply =
      conn->request("$JS.API.DIRECT.GET.OBJ_samples",
                    value{{"last_by_subj", "$O.samples.M.ZGlyL3JlcG9ydC5wZGY="}}.dump(), 5s);
  SY_REQUIRE(reply.has_value());
  auto meta = value::parse(reply->data());
  CAF_CHECK_EQUAL(meta["name"], "dir/report.pdf");
  CAF_CHECK_EQUAL(meta["bucket"], "samples");
  CAF_CHECK_EQUAL(meta["size"], 2500);
  CAF_CHECK_EQUAL(meta["chunks"], 3);
  CAF_CHECK_EQUAL(meta["options"]["max_chunk_size"], small_chunk);
  CAF_CHECK(meta["mtime"].get<std::string>().back() == 'Z');
  CAF_CHECK_EQUAL(meta["digest"].get<std::string>().rfind("SHA-256=", 0), 0u);
  CAF_CHECK_EQUAL(messages_on("$O.samples.C." + meta["nuid"].get<std::string>()), 3u);
  // The stream as the clients create it.
  auto si = conn->request("$JS.API.STREAM.INFO.OBJ_samples", "", 5s);
  SY_REQUIRE(si.has_value());
  auto config = value::parse(si->data())["config"];
  CAF_CHECK_EQUAL(config["subjects"], (value{"$O.samples.C.>", "$O.samples.M.>"}));
  CAF_CHECK_EQUAL(config["allow_rollup_hdrs"], true);
  CAF_CHECK_EQUAL(config["allow_direct"], true);
  CAF_CHECK_EQUAL(config["discard"], "new");
}

CAF_TEST(an object another client wrote is readable) {
  // As nats.js writes one: unpadded digest, its own nuid and chunk size.
  std::string nuid = "AbCdEfGhIjKlMnOpQrStUv";
  for (const char* part : {"hel", "lo"})
    CAF_CHECK(conn->js_publish({"$O.samples.C." + nuid, part, {}, {}, {}}, 5s).has_value());
  value meta{{"name", "greeting"},
             {"bucket", "samples"},
             {"nuid", nuid},
             {"size", 5},
             {"chunks", 2},
             {"mtime", "2026-11-30T00:00:00Z"},
             {"digest", "SHA-256=LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ"},
             {"options", {{"max_chunk_size", 3}}}};
  CAF_CHECK(conn->js_publish({"$O.samples.M." + base64url("greeting"),
                              meta.dump(),
                              {{"Nats-Rollup", "sub"}},
                              {},
                              {}},
                             5s)
                .has_value());
  auto back = store->get_bytes("greeting");
  SY_REQUIRE(back.has_value());
  CAF_CHECK_EQUAL(*back, "hello");
}

CAF_TEST(objects larger than 100 MB stream through) {
  const std::uint64_t size = 120ull << 20;
  object_store_options opts;
  opts.bucket = "big";
  auto big = object_store::ensure(conn, opts); // the default 128 KiB chunks
  SY_REQUIRE(big.has_value());
  generated source{size};
  auto put = big->put("dump.bin", [&](char* b, std::size_t n) { return source.read(b, n); });
  SY_REQUIRE(put.has_value());
  CAF_CHECK_EQUAL(put->size, size);
  CAF_CHECK_EQUAL(put->chunks, size / (128 * 1024));
  generated expect{size};
  std::uint64_t seen = 0;
  bool same = true;
  std::string want;
  auto got = big->get("dump.bin", [&](std::string_view chunk) -> expected<void> {
    want.resize(chunk.size());
    (void)expect.read(want.data(), chunk.size());
    same = same && chunk == want;
    seen += chunk.size();
    return {};
  });
  CAF_CHECK(got.has_value());
  CAF_CHECK_EQUAL(seen, size);
  CAF_CHECK(same);
}

CAF_TEST(an interrupted upload leaves no visible object) {
  int calls = 0;
  auto put = store->put("partial", [&](char* b, std::size_t n) -> expected<std::size_t> {
    if (++calls > 3) return make_error(errc::io, "disk went away");
    std::fill_n(b, n, 'p');
    return n;
  });
  SY_REQUIRE(!put.has_value());
  CAF_CHECK(put.error().message.find("disk went away") != std::string::npos);
  CAF_CHECK(store->info("partial").error().code == errc::not_found);
  CAF_CHECK_EQUAL(messages_on("$O.samples.C.>"), 0u); // its chunks were removed
  // An uploader that died: chunks, no metadata. Invisible, and found as orphans.
  CAF_CHECK(
      conn->js_publish({"$O.samples.C.deaduploader000000000000", "x", {}, {}, {}}, 5s).has_value());
  auto listed = store->list();
  SY_REQUIRE(listed.has_value());
  CAF_CHECK(listed->empty());
  auto fresh = store->orphan_chunk_subjects(std::chrono::seconds{3600});
  SY_REQUIRE(fresh.has_value());
  CAF_CHECK(fresh->empty()); // may still be uploading
  auto orphans = store->orphan_chunk_subjects(std::chrono::seconds{0});
  SY_REQUIRE(orphans.has_value());
  CAF_CHECK_EQUAL(*orphans, std::vector<std::string>{"$O.samples.C.deaduploader000000000000"});
  CAF_CHECK(store->purge_chunks(orphans->front()).has_value());
  CAF_CHECK_EQUAL(messages_on("$O.samples.C.>"), 0u);
}

CAF_TEST(a corrupted or missing chunk is detected) {
  auto put = store->put_bytes("victim", std::string(3 * small_chunk, 'v'));
  SY_REQUIRE(put.has_value());
  // Chunks are stream sequences 1..3, the metadata 4. Replace chunk 2.
  CAF_CHECK(delete_stream_message(*conn, "OBJ_samples", 2).has_value());
  CAF_CHECK(
      conn->js_publish({"$O.samples.C." + put->nuid, std::string(small_chunk, 'X'), {}, {}, {}}, 5s)
          .has_value());
  auto got = store->get_bytes("victim");
  SY_REQUIRE(!got.has_value());
  CAF_CHECK(got.error().message.find("SHA-256 digest mismatch") != std::string::npos);
  // And one chunk fewer than recorded.
  CAF_CHECK(delete_stream_message(*conn, "OBJ_samples", 3).has_value());
  got = store->get_bytes("victim");
  SY_REQUIRE(!got.has_value());
  CAF_CHECK(got.error().message.find("is missing") != std::string::npos);
}

CAF_TEST(replacing and removing objects removes their chunks) {
  SY_REQUIRE(store->put_bytes("report", std::string(2 * small_chunk, 'a')).has_value());
  auto second = store->put_bytes("report", "short");
  SY_REQUIRE(second.has_value());
  CAF_CHECK_EQUAL(messages_on("$O.samples.C.>"), 1u);
  CAF_CHECK_EQUAL(*store->get_bytes("report"), "short");
  CAF_CHECK(store->remove("report").has_value());
  CAF_CHECK(store->info("report").error().code == errc::not_found);
  CAF_CHECK_EQUAL(messages_on("$O.samples.C.>"), 0u);
  CAF_CHECK(store->list()->empty());
  CAF_CHECK(!store->remove("report").has_value());
}

CAF_TEST_FIXTURE_SCOPE_END()
