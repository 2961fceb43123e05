#include "runtime/task/codec.hpp"

#include "runtime/task/uid.hpp"

#include <msgpack.hpp>

namespace sy {

namespace {

// -- encoding ----------------------------------------------------------------

using packer = msgpack::packer<msgpack::sbuffer>;

void pack_value(packer& pk, const value& v) {
  using t = value::value_t;
  switch (v.type()) {
  case t::null:
  case t::discarded:
    pk.pack_nil();
    break;
  case t::boolean:
    v.get<bool>() ? pk.pack_true() : pk.pack_false();
    break;
  case t::number_integer:
    pk.pack_int64(v.get<std::int64_t>());
    break;
  case t::number_unsigned:
    pk.pack_uint64(v.get<std::uint64_t>());
    break;
  case t::number_float:
    pk.pack_double(v.get<double>());
    break;
  case t::string: {
    const auto& s = v.get_ref<const std::string&>();
    pk.pack_str(static_cast<std::uint32_t>(s.size()));
    pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
    break;
  }
  case t::binary: {
    const auto& b = v.get_binary();
    auto size = static_cast<std::uint32_t>(b.size());
    if (b.has_subtype()) {
      pk.pack_ext(size, static_cast<std::int8_t>(b.subtype()));
      pk.pack_ext_body(reinterpret_cast<const char*>(b.data()), size);
    } else {
      pk.pack_bin(size);
      pk.pack_bin_body(reinterpret_cast<const char*>(b.data()), size);
    }
    break;
  }
  case t::array:
    pk.pack_array(static_cast<std::uint32_t>(v.size()));
    for (const auto& x : v)
      pack_value(pk, x);
    break;
  case t::object:
    pk.pack_map(static_cast<std::uint32_t>(v.size()));
    for (const auto& [key, x] : v.items()) {
      pk.pack(key);
      pack_value(pk, x);
    }
    break;
  }
}

template <class T> void pack_field(packer& pk, std::string_view key, const T& v) {
  pk.pack_str(static_cast<std::uint32_t>(key.size()));
  pk.pack_str_body(key.data(), static_cast<std::uint32_t>(key.size()));
  if constexpr (std::is_same_v<T, value>)
    pack_value(pk, v);
  else if constexpr (std::is_same_v<T, std::string_view>)
    pk.pack(std::string{v});
  else
    pk.pack(v);
}

constexpr std::uint32_t known_field_count = 16;

// -- decoding ----------------------------------------------------------------

struct decoder {
  const decode_limits& limits;

  error fail(std::string_view what) const {
    return make_error(errc::invalid_input, "malformed task: " + std::string{what});
  }

  expected<value> to_value(const msgpack::object& o, std::size_t depth) const {
    using msgpack::type::object_type;
    if (depth > limits.max_depth)
      return fail("nesting deeper than " + std::to_string(limits.max_depth));
    switch (o.type) {
    case object_type::NIL:
      return value();
    case object_type::BOOLEAN:
      return value(o.via.boolean);
    case object_type::POSITIVE_INTEGER:
      return value(o.via.u64);
    case object_type::NEGATIVE_INTEGER:
      return value(o.via.i64);
    case object_type::FLOAT32:
    case object_type::FLOAT64:
      return value(o.via.f64);
    case object_type::STR:
      return value(std::string{o.via.str.ptr, o.via.str.size});
    case object_type::BIN: {
      auto p = reinterpret_cast<const std::uint8_t*>(o.via.bin.ptr);
      return value::binary({p, p + o.via.bin.size});
    }
    case object_type::EXT: {
      auto p = reinterpret_cast<const std::uint8_t*>(o.via.ext.data());
      return value::binary({p, p + o.via.ext.size}, static_cast<std::uint8_t>(o.via.ext.type()));
    }
    case object_type::ARRAY: {
      value out = value::array();
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        auto x = to_value(o.via.array.ptr[i], depth + 1);
        if (!x) return x;
        out.push_back(std::move(*x));
      }
      return out;
    }
    case object_type::MAP: {
      value out = value::object();
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.type != object_type::STR) return fail("map key is not a string");
        auto x = to_value(kv.val, depth + 1);
        if (!x) return x;
        out[std::string{kv.key.via.str.ptr, kv.key.via.str.size}] = std::move(*x);
      }
      return out;
    }
    }
    return fail("unknown msgpack type");
  }

  expected<void> read_string(const msgpack::object& o, std::string_view key,
                             std::string& out) const {
    if (o.type == msgpack::type::NIL) return {};
    if (o.type != msgpack::type::STR)
      return fail("field \"" + std::string{key} + "\" is not a string");
    out.assign(o.via.str.ptr, o.via.str.size);
    return {};
  }

  expected<void> read_map(const msgpack::object& o, std::string_view key, value& out) const {
    if (o.type == msgpack::type::NIL) return {};
    if (o.type != msgpack::type::MAP)
      return fail("field \"" + std::string{key} + "\" is not a map");
    auto v = to_value(o, 1);
    if (!v) return v.error();
    out = std::move(*v);
    return {};
  }

  expected<void> read_number(const msgpack::object& o, std::string_view key, double& out) const {
    using msgpack::type::object_type;
    switch (o.type) {
    case object_type::FLOAT32:
    case object_type::FLOAT64:
      out = o.via.f64;
      return {};
    case object_type::POSITIVE_INTEGER:
      out = static_cast<double>(o.via.u64);
      return {};
    case object_type::NEGATIVE_INTEGER:
      out = static_cast<double>(o.via.i64);
      return {};
    case object_type::NIL:
      return {};
    default:
      return fail("field \"" + std::string{key} + "\" is not a number");
    }
  }

  expected<void> read_field(std::string_view key, const msgpack::object& o, task& t,
                            bool& has_headers) const {
    if (key == "uid") return read_string(o, key, t.uid);
    if (key == "parent_uid") return read_string(o, key, t.parent_uid);
    if (key == "root_uid") return read_string(o, key, t.root_uid);
    if (key == "orig_uid") return read_string(o, key, t.orig_uid);
    if (key == "headers") {
      has_headers = o.type == msgpack::type::MAP;
      return read_map(o, key, t.headers);
    }
    if (key == "payload") return read_map(o, key, t.payload);
    if (key == "headers_persistent") return read_map(o, key, t.headers_persistent);
    if (key == "payload_persistent") return read_map(o, key, t.payload_persistent);
    if (key == "error") return read_string(o, key, t.error);
    if (key == "receiver") return read_string(o, key, t.receiver);
    if (key == "last_update") return read_number(o, key, t.last_update);
    if (key == "score") return read_number(o, key, t.score);
    if (key == "priority") {
      std::string text;
      if (auto r = read_string(o, key, text); !r) return r;
      if (text.empty()) return {};
      auto p = parse_priority(text);
      if (!p) return fail("field \"priority\" must be high, normal or low, got \"" + text + "\"");
      t.priority = *p;
      return {};
    }
    if (key == "status") {
      std::string text;
      if (auto r = read_string(o, key, text); !r) return r;
      if (text.empty()) return {};
      auto s = parse_task_status(text);
      if (!s)
        return fail("field \"status\" must be one of Declared, Spawned, Started, Finished, "
                    "Crashed, got \"" +
                    text + "\"");
      t.status = *s;
      return {};
    }
    if (key == "spawned") {
      if (o.type != msgpack::type::ARRAY) return fail("field \"spawned\" is not an array");
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        const auto& uid = o.via.array.ptr[i];
        if (uid.type != msgpack::type::STR)
          return fail("field \"spawned\" holds something else than strings");
        t.spawned.emplace_back(uid.via.str.ptr, uid.via.str.size);
      }
      return {};
    }
    if (key == "sole_fork") {
      if (o.type != msgpack::type::BOOLEAN) return fail("field \"sole_fork\" is not a boolean");
      t.sole_fork = o.via.boolean;
      return {};
    }
    if (key == "attempt") {
      if (o.type != msgpack::type::POSITIVE_INTEGER || o.via.u64 > UINT32_MAX)
        return fail("field \"attempt\" is not a small non-negative integer");
      t.attempt = static_cast<std::uint32_t>(o.via.u64);
      return {};
    }
    if (key == "v") {
      if (o.type != msgpack::type::POSITIVE_INTEGER || o.via.u64 != wire_version)
        return fail("unsupported wire version (this build reads \"v\": 1)");
      return {};
    }
    msgpack::sbuffer raw;
    msgpack::pack(raw, o);
    t.unknown_fields.emplace_back(std::string{key}, std::string{raw.data(), raw.size()});
    return {};
  }

  expected<task> decode(std::string_view bytes) const {
    if (bytes.size() > limits.max_bytes)
      return fail(std::to_string(bytes.size()) + " bytes exceed the limit of " +
                  std::to_string(limits.max_bytes));
    // No container can hold more elements than there are bytes, so these
    // limits stop a forged length from allocating gigabytes up front.
    auto n = bytes.size();
    msgpack::unpack_limit bounds(n, n, n, n, n, limits.max_depth + 2);
    // One zone per thread, emptied after each task: a zone of its own cost
    // every decode an 8 KiB allocation. Strings and binaries refer to
    // `bytes` rather than being copied; nothing keeps them past this call.
    thread_local msgpack::zone zone;
    struct clear_zone {
      ~clear_zone() { zone.clear(); }
    } cleared_on_return;
    msgpack::object root;
    try {
      std::size_t offset = 0;
      auto refer = [](msgpack::type::object_type, std::size_t, void*) { return true; };
      root = msgpack::unpack(zone, bytes.data(), bytes.size(), offset, refer, nullptr, bounds);
      if (offset != bytes.size()) return fail("trailing bytes after the task map");
    } catch (const msgpack::insufficient_bytes&) {
      return fail("truncated msgpack");
    } catch (const msgpack::depth_size_overflow&) {
      return fail("nesting deeper than " + std::to_string(limits.max_depth));
    } catch (const std::exception& e) {
      return fail(std::string{"not valid msgpack ("} + e.what() + ")");
    }
    if (root.type != msgpack::type::MAP) return fail("not a msgpack map");
    task t;
    bool has_headers = false;
    for (std::uint32_t i = 0; i < root.via.map.size; ++i) {
      const auto& kv = root.via.map.ptr[i];
      if (kv.key.type != msgpack::type::STR) return fail("a top-level key is not a string");
      std::string_view key{kv.key.via.str.ptr, kv.key.via.str.size};
      if (auto r = read_field(key, kv.val, t, has_headers); !r) return r.error();
    }
    if (t.uid.empty()) return fail("field \"uid\" is missing");
    if (!has_headers) return fail("field \"headers\" is missing");
    if (t.root_uid.empty()) t.root_uid = t.uid;
    return t;
  }
};

} // namespace

std::string encode(const task& t) {
  msgpack::sbuffer buffer(256 + t.uid.size() * 4);
  packer pk(buffer);
  pk.pack_map(known_field_count + (t.spawned.empty() ? 0 : 1) + (t.sole_fork ? 1 : 0) +
              static_cast<std::uint32_t>(t.unknown_fields.size()));
  pack_field(pk, "v", wire_version);
  pack_field(pk, "uid", t.uid);
  pack_field(pk, "parent_uid", t.parent_uid);
  pack_field(pk, "root_uid", t.root_uid);
  pack_field(pk, "orig_uid", t.orig_uid);
  pack_field(pk, "headers", t.headers);
  pack_field(pk, "payload", t.payload);
  pack_field(pk, "headers_persistent", t.headers_persistent);
  pack_field(pk, "payload_persistent", t.payload_persistent);
  pack_field(pk, "priority", to_string(t.priority));
  pack_field(pk, "status", to_string(t.status));
  pack_field(pk, "error", t.error);
  pack_field(pk, "last_update", t.last_update);
  pack_field(pk, "receiver", t.receiver);
  pack_field(pk, "attempt", t.attempt);
  pack_field(pk, "score", t.score);
  if (!t.spawned.empty()) {
    pk.pack(std::string_view{"spawned"});
    pk.pack_array(static_cast<std::uint32_t>(t.spawned.size()));
    for (const auto& uid : t.spawned)
      pk.pack(uid);
  }
  if (t.sole_fork) {
    pk.pack(std::string_view{"sole_fork"});
    pk.pack(true);
  }
  for (const auto& [key, raw] : t.unknown_fields) {
    pk.pack(key);
    buffer.write(raw.data(), raw.size());
  }
  return std::string{buffer.data(), buffer.size()};
}

expected<task> decode_task(std::string_view bytes, const decode_limits& limits) {
  return decoder{limits}.decode(bytes);
}

value to_json(const task& t) {
  value out = {
      {"uid", t.uid},
      {"parent_uid", t.parent_uid},
      {"root_uid", t.root_uid},
      {"orig_uid", t.orig_uid},
      {"headers", to_display_value(t.headers)},
      {"payload", to_display_value(t.payload)},
      {"headers_persistent", to_display_value(t.headers_persistent)},
      {"payload_persistent", to_display_value(t.payload_persistent)},
      {"priority", to_string(t.priority)},
      {"status", to_string(t.status)},
      {"error", t.error},
      {"last_update", t.last_update},
      {"receiver", t.receiver},
      {"attempt", t.attempt},
      {"score", t.score},
  };
  if (!t.spawned.empty()) out["spawned"] = t.spawned;
  if (t.sole_fork) out["sole_fork"] = true;
  if (!t.unknown_fields.empty()) {
    value unknown = value::object();
    for (const auto& [key, raw] : t.unknown_fields)
      unknown[key] = base64_encode({raw.begin(), raw.end()});
    out["unknown"] = std::move(unknown);
  }
  return out;
}

expected<task> task_from_json(const value& json) {
  auto fail = [](std::string what) {
    return make_error(errc::invalid_input, "invalid task JSON: " + what);
  };
  if (!json.is_object()) return fail("expected an object");
  if (!json.contains("headers") || !json["headers"].is_object())
    return fail("\"headers\" must be an object");
  task t;
  for (const auto& [key, v] : json.items()) {
    if (key == "headers" || key == "payload" || key == "headers_persistent" ||
        key == "payload_persistent") {
      if (!v.is_object()) return fail("\"" + key + "\" must be an object");
    }
  }
  auto get_string = [&](const char* key, std::string& out) -> expected<void> {
    if (!json.contains(key) || json[key].is_null()) return {};
    if (!json[key].is_string()) return fail(std::string{"\""} + key + "\" must be a string");
    out = json[key].get<std::string>();
    return {};
  };
  for (auto [key, field] : {std::pair{"uid", &t.uid},
                            {"parent_uid", &t.parent_uid},
                            {"root_uid", &t.root_uid},
                            {"orig_uid", &t.orig_uid},
                            {"error", &t.error},
                            {"receiver", &t.receiver}})
    if (auto r = get_string(key, *field); !r) return r.error();
  t.headers = json["headers"];
  t.payload = json.value("payload", value::object());
  t.headers_persistent = json.value("headers_persistent", value::object());
  t.payload_persistent = json.value("payload_persistent", value::object());
  std::string text;
  if (auto r = get_string("priority", text); !r) return r.error();
  if (!text.empty()) {
    auto p = parse_priority(text);
    if (!p) return fail("\"priority\" must be high, normal or low");
    t.priority = *p;
  }
  text.clear();
  if (auto r = get_string("status", text); !r) return r.error();
  if (!text.empty()) {
    auto s = parse_task_status(text);
    if (!s) return fail("\"status\" must be one of Declared, Spawned, Started, Finished, Crashed");
    t.status = *s;
  }
  if (t.uid.empty()) t.uid = new_uid();
  if (t.root_uid.empty()) t.root_uid = t.uid;
  for (const auto& [key, v] : t.headers_persistent.items())
    t.headers[key] = v;
  for (const auto& [key, v] : t.payload_persistent.items())
    t.payload[key] = v;
  t.last_update = unix_now();
  return t;
}

} // namespace sy
