// The fields of every cluster message, in the order they are on the wire.

#include "messages.hpp"

#include <fmt/core.h>

namespace weft::wire {
namespace {

// Smallest encodings, so a forged count is refused before anything is reserved.
constexpr std::size_t min_text_bytes = 4;
constexpr std::size_t min_resource_bytes = min_text_bytes + 8;

void write_resources(field_writer& out, const resource_amounts& r) {
  out.count(r.size(), "resource list");
  for (const auto& [name, amount] : r) {
    out.text(name, "resource name");
    out.i64(amount);
  }
}

resource_amounts read_resources(field_reader& in) {
  resource_amounts r;
  const std::uint32_t n = in.count(min_resource_bytes);
  for (std::uint32_t i = 0; i < n; ++i) {
    std::string name = in.text();
    r[std::move(name)] = in.i64();
  }
  return r;
}

void write_texts(field_writer& out, const std::vector<std::string>& texts) {
  out.count(texts.size(), "name list");
  for (const auto& t : texts)
    out.text(t, "name");
}

std::vector<std::string> read_texts(field_reader& in) {
  const std::uint32_t n = in.count(min_text_bytes);
  std::vector<std::string> texts;
  texts.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i)
    texts.push_back(in.text());
  return texts;
}

bool read_flag(field_reader& in) {
  const std::uint8_t b = in.u8();
  if (b > 1) throw_undecodable(in.what(), fmt::format("a flag byte is {}, not 0 or 1", b));
  return b == 1;
}

}  // namespace

void write(field_writer& out, const node_record& m) {
  out.text(m.id);
  out.u8(static_cast<std::uint8_t>(m.role));
  out.text(m.address);
  write_resources(out, m.resources);
  write_resources(out, m.available);
  write_texts(out, m.functions);
  write_texts(out, m.actor_types);
  out.u64(m.load);
  out.u64(m.tasks_served);
  out.u64(m.bytes_sent);
  out.u64(m.bytes_received);
  out.f64(m.uptime_seconds);
  out.i64(m.pid);
  out.u64(m.heartbeats);
}

void read(field_reader& in, node_record& m) {
  m.id = in.text();
  const std::uint8_t role = in.u8();
  if (role < static_cast<std::uint8_t>(role_code::driver) ||
      role > static_cast<std::uint8_t>(role_code::head)) {
    throw_undecodable(in.what(), fmt::format("a role byte is {}, which names no role", role));
  }
  m.role = static_cast<role_code>(role);
  m.address = in.text();
  m.resources = read_resources(in);
  m.available = read_resources(in);
  m.functions = read_texts(in);
  m.actor_types = read_texts(in);
  m.load = in.u64();
  m.tasks_served = in.u64();
  m.bytes_sent = in.u64();
  m.bytes_received = in.u64();
  m.uptime_seconds = in.f64();
  m.pid = in.i64();
  m.heartbeats = in.u64();
}

void write(field_writer& out, const actor_record& m) {
  out.text(m.name);
  out.text(m.name_space);
  out.text(m.type);
  out.text(m.node);
  out.text(m.id);
}

void read(field_reader& in, actor_record& m) {
  m.name = in.text();
  m.name_space = in.text();
  m.type = in.text();
  m.node = in.text();
  m.id = in.text();
}

void write(field_writer& out, const cluster_view& m) {
  out.text(m.cluster_name);
  out.count(m.nodes.size(), "node list");
  for (const auto& n : m.nodes)
    write(out, n);
  out.count(m.actors.size(), "actor list");
  for (const auto& a : m.actors)
    write(out, a);
}

void read(field_reader& in, cluster_view& m) {
  m.cluster_name = in.text();
  // A node record is at least its texts' lengths, a role byte, four empty lists and 7 numbers.
  const std::uint32_t nodes = in.count(2 * min_text_bytes + 1 + 4 * 4 + 7 * 8);
  m.nodes.resize(nodes);
  for (auto& n : m.nodes)
    read(in, n);
  const std::uint32_t actors = in.count(5 * min_text_bytes);
  m.actors.resize(actors);
  for (auto& a : m.actors)
    read(in, a);
}

void write(field_writer& out, const join_reply& m) {
  out.text(m.id);
  write(out, m.view);
}

void read(field_reader& in, join_reply& m) {
  m.id = in.text();
  read(in, m.view);
}

void write(field_writer& out, const heartbeat& m) {
  out.u64(m.load);
  out.u64(m.tasks_served);
  out.u64(m.bytes_sent);
  out.u64(m.bytes_received);
  write_resources(out, m.available);
}

void read(field_reader& in, heartbeat& m) {
  m.load = in.u64();
  m.tasks_served = in.u64();
  m.bytes_sent = in.u64();
  m.bytes_received = in.u64();
  m.available = read_resources(in);
}

void write(field_writer& out, const task_header& m) {
  out.text(m.function);
  out.text(m.name);
  out.i32(m.retries);
  write_resources(out, m.resources);
}

void read(field_reader& in, task_header& m) {
  m.function = in.text();
  m.name = in.text();
  m.retries = in.i32();
  m.resources = read_resources(in);
}

void write(field_writer& out, const actor_call_header& m) {
  out.text(m.actor);
  out.text(m.method);
  out.text(m.name);
  out.i32(m.retries);
}

void read(field_reader& in, actor_call_header& m) {
  m.actor = in.text();
  m.method = in.text();
  m.name = in.text();
  m.retries = in.i32();
}

void write(field_writer& out, const claim_reply& m) {
  out.u8(m.claimed ? 1 : 0);
  write(out, m.holder);
}

void read(field_reader& in, claim_reply& m) {
  m.claimed = read_flag(in);
  read(in, m.holder);
}

void write(field_writer& out, const spawn_order& m) {
  out.text(m.id);
  out.text(m.type);
  out.text(m.factory);
  out.text(m.name);
  out.text(m.name_space);
  out.i32(m.max_concurrency);
  out.i32(m.max_restarts);
  out.u8(m.detached ? 1 : 0);
  write_resources(out, m.resources);
}

void read(field_reader& in, spawn_order& m) {
  m.id = in.text();
  m.type = in.text();
  m.factory = in.text();
  m.name = in.text();
  m.name_space = in.text();
  m.max_concurrency = in.i32();
  m.max_restarts = in.i32();
  m.detached = read_flag(in);
  m.resources = read_resources(in);
}

void write(field_writer& out, const spawn_answer& m) {
  out.u64(m.heartbeats_sent);
}

void read(field_reader& in, spawn_answer& m) {
  m.heartbeats_sent = in.u64();
}

void write(field_writer& out, const actor_end& m) {
  out.text(m.id);
  out.text(m.message, "actor's death message");
}

void read(field_reader& in, actor_end& m) {
  m.id = in.text();
  m.message = in.text();
}

void write(field_writer& out, const failure& m) {
  out.text(m.type);
  out.text(m.message, "failure message");
  out.text(m.node);
}

void read(field_reader& in, failure& m) {
  m.type = in.text();
  m.message = in.text();
  m.node = in.text();
}

void write(field_writer& out, const object_pull& m) {
  out.u64(m.object);
  out.u64(m.offset);
  out.u64(m.length);
}

void read(field_reader& in, object_pull& m) {
  m.object = in.u64();
  m.offset = in.u64();
  m.length = in.u64();
}

void write(field_writer& out, const object_release& m) {
  out.u64(m.object);
}

void read(field_reader& in, object_release& m) {
  m.object = in.u64();
}

void write(field_writer& out, const object_dropped& m) {
  out.text(m.owner);
  out.u64(m.object);
  out.u8(m.keyed ? 1 : 0);
}

void read(field_reader& in, object_dropped& m) {
  m.owner = in.text();
  m.object = in.u64();
  m.keyed = read_flag(in);
}

void write(field_writer& out, const held_result& m) {
  out.u64(m.object);
  out.u64(m.size);
}

void read(field_reader& in, held_result& m) {
  m.object = in.u64();
  m.size = in.u64();
}

void write(field_writer& out, const ref_value_header& m) {
  out.u64(m.token);
}

void read(field_reader& in, ref_value_header& m) {
  m.token = in.u64();
}

void write(field_writer& out, const handle_grant& m) {
  out.text(m.actor);
  out.text(m.grantee);
  out.text(m.grantor);
  out.u64(m.token);
}

void read(field_reader& in, handle_grant& m) {
  m.actor = in.text();
  m.grantee = in.text();
  m.grantor = in.text();
  m.token = in.u64();
}

void write(field_writer& out, const grant_attach& m) {
  out.text(m.actor);
  out.text(m.grantor);
  out.u64(m.token);
}

void read(field_reader& in, grant_attach& m) {
  m.actor = in.text();
  m.grantor = in.text();
  m.token = in.u64();
}

void write(field_writer& out, const actor_id_message& m) {
  out.text(m.actor);
}

void read(field_reader& in, actor_id_message& m) {
  m.actor = in.text();
}

}  // namespace weft::wire
