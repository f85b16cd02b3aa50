// src/wire/messages.hpp and fields.hpp: the bytes of every cluster message. Each case encodes
// a sample and compares it with the bytes written down here, then decodes those bytes back;
// a change of the format fails here and must go with a new wire::protocol_version.
#include "wire/messages.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <functional>
#include <string>

#include "weft/errors.hpp"
#include "wire/frame.hpp"
#include "wire/records.hpp"

namespace wire = weft::wire;

namespace {

std::string hex(const std::string& bytes) {
  std::string out;
  char buf[3];
  for (char c : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned char>(c));
    out += buf;
  }
  return out;
}

std::string unhex(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(text.substr(i, 2), nullptr, 16)));
  return out;
}

std::span<const std::byte> bytes_of(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// Encodes `m`, checks the bytes against `golden`, and returns `golden` decoded.
template <class M>
M round_trip(const M& m, const std::string& golden) {
  const std::string bytes = wire::to_bytes(m);
  INFO("encoded: ", hex(bytes));
  CHECK(hex(bytes) == golden);
  const std::string stored = unhex(golden);
  return wire::from_bytes<M>(bytes_of(stored), "test message");
}

std::string protocol_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const weft::protocol_error& e) {
    return e.what();
  }
  return "no protocol_error";
}

wire::node_record sample_node() {
  wire::node_record n;
  n.id = "w-1";
  n.role = wire::role_code::worker;
  n.address = "h:9";
  n.resources = {{"gpu", 2}};
  n.available = {{"gpu", -1}};
  n.functions = {"add"};
  n.actor_types = {};
  n.load = 3;
  n.tasks_served = 4;
  n.bytes_sent = 5;
  n.bytes_received = 6;
  n.uptime_seconds = 1.5;
  n.pid = 77;
  n.heartbeats = 8;
  return n;
}

}  // namespace

TEST_CASE("the protocol version is the one these bytes belong to") {
  // 4: each handshake proof also signs the node id its sender announced
  // (tests/wire_handshake_test.cpp); the messages here are as in 2.
  CHECK(wire::protocol_version == 4);
}

TEST_CASE("node records, views and join replies") {
  const std::string node_bytes =
      "03000000772d310203000000683a39010000000300000067707502000000000000000100000003000000677075ff"
      "ffffffffffffff010000000300000061646400000000030000000000000004000000000000000500000000000000"
      "0600000000000000000000000000f83f4d000000000000000800000000000000";
  const wire::node_record n = round_trip(sample_node(), node_bytes);
  CHECK(n.id == "w-1");
  CHECK(n.role == wire::role_code::worker);
  CHECK(n.address == "h:9");
  CHECK(n.resources == wire::resource_amounts{{"gpu", 2}});
  CHECK(n.available == wire::resource_amounts{{"gpu", -1}});
  CHECK(n.functions == std::vector<std::string>{"add"});
  CHECK(n.actor_types.empty());
  CHECK(n.load == 3);
  CHECK(n.tasks_served == 4);
  CHECK(n.bytes_sent == 5);
  CHECK(n.bytes_received == 6);
  CHECK(n.uptime_seconds == 1.5);
  CHECK(n.pid == 77);
  CHECK(n.heartbeats == 8);

  wire::cluster_view view;
  view.cluster_name = "lab";
  view.nodes = {sample_node()};
  view.actors = {{"ledger", "default", "Ledger", "w-1", "d-1/1"}};
  const wire::join_reply reply =
      round_trip(wire::join_reply{"d-1", view},
                 "03000000642d31030000006c61620100000003000000772d310203000000683a39010000000300000"
                 "067707502000000000000000100000003000000677075ffffffffffffffff01000000030000006164"
                 "640000000003000000000000000400000000000000050000000000000006000000000000000000000"
                 "00000f83f4d00000000000000080000000000000001000000060000006c6564676572070000006465"
                 "6661756c74060000004c656467657203000000772d3105000000642d312f31");
  CHECK(reply.id == "d-1");
  CHECK(reply.view.cluster_name == "lab");
  REQUIRE(reply.view.nodes.size() == 1);
  CHECK(reply.view.nodes[0].address == "h:9");
  REQUIRE(reply.view.actors.size() == 1);
  CHECK(reply.view.actors[0].name == "ledger");
  CHECK(reply.view.actors[0].name_space == "default");
  CHECK(reply.view.actors[0].type == "Ledger");
  CHECK(reply.view.actors[0].node == "w-1");
  CHECK(reply.view.actors[0].id == "d-1/1");
}

TEST_CASE("heartbeats, task and call headers") {
  const wire::heartbeat beat = round_trip(wire::heartbeat{1, 2, 3, 4, {{"cpu", 5}}},
                                          "01000000000000000200000000000000030000000000000004000000"
                                          "0000000001000000030000006370750500000000000000");
  CHECK(beat.load == 1);
  CHECK(beat.tasks_served == 2);
  CHECK(beat.bytes_sent == 3);
  CHECK(beat.bytes_received == 4);
  CHECK(beat.available == wire::resource_amounts{{"cpu", 5}});

  const wire::task_header task =
      round_trip(wire::task_header{"add", "t", 2, {{"gpu", 1}}},
                 "0300000061646401000000740200000001000000030000006770750100000000000000");
  CHECK(task.function == "add");
  CHECK(task.name == "t");
  CHECK(task.retries == 2);
  CHECK(task.resources == wire::resource_amounts{{"gpu", 1}});

  const wire::actor_call_header call = round_trip(wire::actor_call_header{"d/1", "A::f", "", -1},
                                                  "03000000642f3104000000413a3a6600000000ffffffff");
  CHECK(call.actor == "d/1");
  CHECK(call.method == "A::f");
  CHECK(call.name.empty());
  CHECK(call.retries == -1);
}

TEST_CASE("names, spawns and actor ends") {
  const wire::claim_reply claim =
      round_trip(wire::claim_reply{true, {"n", "ns", "T", "w", "i"}},
                 "01010000006e020000006e73010000005401000000770100000069");
  CHECK(claim.claimed);
  CHECK(claim.holder.name == "n");
  CHECK(claim.holder.id == "i");

  wire::spawn_order order{"d/2", "T", "T()", "n", "ns", 4, 3, true, {{"gpu", 1}}};
  const wire::spawn_order o =
      round_trip(order,
                 "03000000642f32010000005403000000542829010000006e020000006e73040000000300000001010"
                 "00000030000006770750100000000000000");
  CHECK(o.id == "d/2");
  CHECK(o.type == "T");
  CHECK(o.factory == "T()");
  CHECK(o.name == "n");
  CHECK(o.name_space == "ns");
  CHECK(o.max_concurrency == 4);
  CHECK(o.max_restarts == 3);
  CHECK(o.detached);
  CHECK(o.resources == wire::resource_amounts{{"gpu", 1}});

  CHECK(round_trip(wire::spawn_answer{9}, "0900000000000000").heartbeats_sent == 9);
  const wire::actor_end end =
      round_trip(wire::actor_end{"d/2", "gone"}, "03000000642f3204000000676f6e65");
  CHECK(end.id == "d/2");
  CHECK(end.message == "gone");
  CHECK(round_trip(wire::actor_id_message{"d/2"}, "03000000642f32").actor == "d/2");
}

TEST_CASE("failures, objects, refs and grants") {
  const wire::failure f =
      round_trip(wire::failure{"E", "bad", "w"}, "0100000045030000006261640100000077");
  CHECK(f.type == "E");
  CHECK(f.message == "bad");
  CHECK(f.node == "w");

  const wire::object_pull pull =
      round_trip(wire::object_pull{1, 2, 3}, "010000000000000002000000000000000300000000000000");
  CHECK(pull.object == 1);
  CHECK(pull.offset == 2);
  CHECK(pull.length == 3);
  CHECK(round_trip(wire::object_release{258}, "0201000000000000").object == 258);
  const wire::object_dropped dropped =
      round_trip(wire::object_dropped{"w", 5, true}, "0100000077050000000000000001");
  CHECK(dropped.owner == "w");
  CHECK(dropped.object == 5);
  CHECK(dropped.keyed);
  const wire::held_result held =
      round_trip(wire::held_result{6, 7}, "06000000000000000700000000000000");
  CHECK(held.object == 6);
  CHECK(held.size == 7);
  CHECK(round_trip(wire::ref_value_header{10}, "0a00000000000000").token == 10);

  const wire::handle_grant grant = round_trip(wire::handle_grant{"a", "b", "c", 11},
                                              "0100000061010000006201000000630b00000000000000");
  CHECK(grant.actor == "a");
  CHECK(grant.grantee == "b");
  CHECK(grant.grantor == "c");
  CHECK(grant.token == 11);
  const wire::grant_attach attach =
      round_trip(wire::grant_attach{"a", "c", 12}, "010000006101000000630c00000000000000");
  CHECK(attach.actor == "a");
  CHECK(attach.grantor == "c");
  CHECK(attach.token == 12);
}

TEST_CASE("a request and a response start with their kind and status bytes") {
  CHECK(hex(wire::request_payload(wire::request_kind::release_object, wire::object_release{1})) ==
        "070100000000000000");
  CHECK(hex(wire::response_payload(wire::response_status::held, wire::held_result{1, 2})) ==
        "0301000000000000000200000000000000");
}

TEST_CASE("malformed messages are refused with what is wrong, never read past their end") {
  const std::string task = wire::to_bytes(wire::task_header{"add", "t", 0, {}});
  for (std::size_t cut = 0; cut < task.size(); ++cut) {
    const std::string part = task.substr(0, cut);
    CHECK(protocol_error_of([&] {
            wire::from_bytes<wire::task_header>(bytes_of(part), "task header");
          }).find("a task header does not decode: ") == 0);
  }
  CHECK(protocol_error_of([&] {
          wire::from_bytes<wire::task_header>(bytes_of(task + "x"), "task header");
        }) == "a task header does not decode: 1 bytes are left over");

  // A text that announces more bytes than there are.
  const std::string long_text = unhex("ffffff7f") + "abc";
  CHECK(protocol_error_of(
            [&] { wire::from_bytes<wire::actor_id_message>(bytes_of(long_text), "actor id"); }) ==
        "an actor id does not decode: a text of 2147483647 bytes is announced, 3 bytes are left");

  // A forged count is refused before anything is reserved.
  std::string forged;
  wire::field_writer w(forged);
  w.u64(0);
  w.u64(0);
  w.u64(0);
  w.u64(0);
  w.u32(0xFFFFFFFF);
  CHECK(protocol_error_of([&] {
          wire::from_bytes<wire::heartbeat>(bytes_of(forged), "heartbeat");
        }) == "a heartbeat does not decode: 4294967295 elements are announced, 0 bytes are left");

  // Flags are 0 or 1, roles are the three the protocol names.
  std::string flag = wire::to_bytes(wire::object_dropped{"w", 5, true});
  flag.back() = 2;
  CHECK(protocol_error_of([&] {
          wire::from_bytes<wire::object_dropped>(bytes_of(flag), "object_dropped notice");
        }) == "an object_dropped notice does not decode: a flag byte is 2, not 0 or 1");
  std::string role = wire::to_bytes(sample_node());
  role[7] = 9;  // after the id's length (4) and its 3 bytes
  CHECK(protocol_error_of([&] {
          wire::from_bytes<wire::node_record>(bytes_of(role), "join request");
        }) == "a join request does not decode: a role byte is 9, which names no role");
}

TEST_CASE("public status structs map to records and back, field by field") {
  weft::node_status n;
  n.id = "w-1";
  n.role = weft::node_role::worker;
  n.address = "h:9";
  n.resources = {{"gpu", 2}};
  n.available = {{"gpu", 1}};
  n.functions = {"add"};
  n.actor_types = {"T"};
  n.load = 3;
  n.tasks_served = 4;
  n.bytes_sent = 5;
  n.bytes_received = 6;
  n.uptime_seconds = 1.5;
  n.pid = 77;
  n.heartbeats = 8;
  weft::cluster_status s;
  s.cluster_name = "lab";
  s.nodes = {n};
  s.actors = {{"ledger", "default", "Ledger", "w-1", "d-1/1"}};
  const weft::cluster_status back = wire::from_record(wire::to_record(s));
  CHECK(back.cluster_name == "lab");
  REQUIRE(back.nodes.size() == 1);
  const weft::node_status& m = back.nodes[0];
  CHECK(m.id == n.id);
  CHECK(m.role == weft::node_role::worker);
  CHECK(m.address == n.address);
  CHECK(m.resources == n.resources);
  CHECK(m.available == n.available);
  CHECK(m.functions == n.functions);
  CHECK(m.actor_types == n.actor_types);
  CHECK(m.load == 3);
  CHECK(m.tasks_served == 4);
  CHECK(m.bytes_sent == 5);
  CHECK(m.bytes_received == 6);
  CHECK(m.uptime_seconds == 1.5);
  CHECK(m.pid == 77);
  CHECK(m.heartbeats == 8);
  REQUIRE(back.actors.size() == 1);
  CHECK(back.actors[0].id == "d-1/1");
  // A driver that has not joined yet (role automatic) joins as a driver.
  CHECK(wire::code_of(weft::node_role::automatic) == wire::role_code::driver);
  CHECK(wire::role_of(wire::role_code::head) == weft::node_role::head);
}
