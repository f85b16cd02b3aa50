#pragma once
// What the cluster's request and response frames carry (DESIGN.md section 5). A request's
// payload starts with one byte naming its kind, a response's with one byte saying whether it
// succeeded; then the fields of one of the messages below (fields.hpp), and for tasks, actor
// calls, spawns and results the encoded values after them (weft/detail/wire_value.hpp), so
// that large contiguous data is written from where it lies.
//
// These are the protocol's own types: the public status structs (weft/cluster.hpp) are mapped
// to and from them (records.hpp), so a change of a public struct is not a change of the
// protocol. tests/wire_messages_test.cpp holds the bytes of every message: a change of the
// format shows there, and goes with a new protocol_version (frame.hpp).

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fields.hpp"

namespace weft::wire {

/// Resource amounts by name.
using resource_amounts = std::map<std::string, std::int64_t>;

/// What a request asks for. Values are part of the protocol: never renumber.
enum class request_kind : std::uint8_t {
  join = 1,             ///< node -> head: node_record (id empty); answered with join_reply.
  run_task = 2,         ///< any -> worker: task_header, then the encoded arguments.
  status = 3,           ///< any -> head: nothing; answered with cluster_view.
  stop_cluster = 4,     ///< any -> head: nothing; answered empty, then every node is stopped.
  stop_node = 5,        ///< head -> node (request id 0, no answer): stop serving.
  pull_object = 6,      ///< any -> owner: object_pull; answered with those bytes of the
                        ///< object's encoding.
  release_object = 7,   ///< caller -> owner (request id 0, no answer): object_release.
  spawn_actor = 8,      ///< spawner -> owner: spawn_order, encoded arguments; answered with
                        ///< spawn_answer once the actor exists (its constructor may still run).
  call_actor = 9,       ///< caller -> owner: actor_call_header, encoded arguments; answered
                        ///< like run_task.
  attach_actor = 10,    ///< holder -> owner (id 0): actor id (text); the sender holds a handle.
  release_actor = 11,   ///< holder -> owner (id 0): actor id (text); its handle is gone.
  kill_actor = 12,      ///< any -> owner (id 0): actor id (text); kill it.
  actor_ended = 13,     ///< owner -> holder (id 0): actor_end; the actor died.
  claim_name = 14,      ///< node -> head: actor_record; answered with claim_reply.
  find_name = 15,       ///< node -> head: actor_record (namespace and name); answered with
                        ///< actor_record (its id empty when no live actor has the name).
  forget_name = 16,     ///< owner -> head (id 0): actor_record; the name is free again.
  object_dropped = 17,  ///< owner -> puller (id 0): object_dropped; drop the copy kept.
  ref_value = 18,       ///< sender -> receiver (id 0), on the connection of the request that
                        ///< named the ref: ref_value_header once the ref is ready; then the
                        ///< ok status, a tag byte and one argument entry's bytes (its value, or
                        ///< a reference to pull), or the failed status and a failure.
  grant_actor = 19,     ///< sender -> owner (id 0): handle_grant.
  attach_granted = 20,  ///< holder -> owner (id 0): grant_attach.
};

/// Byte that starts a response.
enum class response_status : std::uint8_t {
  ok = 1,      ///< The result follows (a task's encoded result, or the answer's message).
  failed = 2,  ///< A `failure` follows.
  held = 3,    ///< A task's result stays on the worker: a held_result follows.
};

/// The role byte of a node_record. Values are part of the protocol: never renumber.
enum class role_code : std::uint8_t { driver = 1, worker = 2, head = 3 };

/// One node, as the head records it and tells the others.
struct node_record {
  std::string id;
  role_code role = role_code::driver;
  std::string address;
  resource_amounts resources;
  resource_amounts available;
  std::vector<std::string> functions;
  std::vector<std::string> actor_types;
  std::uint64_t load = 0;
  std::uint64_t tasks_served = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  double uptime_seconds = 0;
  std::int64_t pid = 0;
  std::uint64_t heartbeats = 0;
};

/// A named actor as the head's directory records it.
struct actor_record {
  std::string name;
  std::string name_space;
  std::string type;
  std::string node;
  std::string id;
};

/// The membership of a cluster and its named actors.
struct cluster_view {
  std::string cluster_name;
  std::vector<node_record> nodes;
  std::vector<actor_record> actors;
};

/// The head's answer to a join.
struct join_reply {
  std::string id;     ///< The id assigned to the new node.
  cluster_view view;  ///< The cluster as it is now.
};

/// A node's heartbeat to the head.
struct heartbeat {
  std::uint64_t load = 0;
  std::uint64_t tasks_served = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  /// Units of each resource neither held nor asked for by work waiting there.
  resource_amounts available;
};

/// What precedes a task's arguments in a run_task request.
struct task_header {
  std::string function;  ///< The WEFT_REMOTE name.
  std::string name;      ///< task_options::name, for messages.
  std::int32_t retries = 0;
  resource_amounts resources;
};

/// What precedes a method call's arguments in a call_actor request.
struct actor_call_header {
  std::string actor;   ///< The actor's id.
  std::string method;  ///< "Type::method".
  std::string name;    ///< task_options::name of the call, for messages.
  std::int32_t retries = 0;
};

/// The head's answer to claim_name: claimed, or who holds the name already.
struct claim_reply {
  bool claimed = false;
  actor_record holder;
};

/// What a spawn_actor request asks the owner to build (the options that can travel).
struct spawn_order {
  std::string id;       ///< The actor's id in the cluster.
  std::string type;     ///< The WEFT_ACTOR name.
  std::string factory;  ///< The factory key (type and argument types).
  std::string name;
  std::string name_space;
  std::int32_t max_concurrency = 1;
  std::int32_t max_restarts = 0;
  bool detached = false;
  resource_amounts resources;
};

/// The owner's answer to a spawn, after the ok status: how many heartbeats it had sent (the
/// spawner counts the actor's resources as taken there until a later heartbeat shows them).
struct spawn_answer {
  std::uint64_t heartbeats_sent = 0;
};

/// An actor's death, as its owner tells the nodes holding handles to it.
struct actor_end {
  std::string id;
  std::string message;  ///< The actor_died message.
};

/// Why a request failed: the exception's type name and message, and the node it happened on.
struct failure {
  std::string type;
  std::string message;
  std::string node;
};

/// Which bytes of an object's encoding a pull asks for.
struct object_pull {
  std::uint64_t object = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

/// The object a holder no longer needs.
struct object_release {
  std::uint64_t object = 0;
};

/// An owner's notice that an object its pullers copied is gone.
struct object_dropped {
  std::string owner;
  std::uint64_t object = 0;
  bool keyed = false;  ///< The id is an object key (a tracked object offered under several holds).
};

/// A task result kept on the node that computed it, after the held status.
struct held_result {
  std::uint64_t object = 0;
  std::uint64_t size = 0;
};

/// What starts a ref_value request: which exported ref's value follows.
struct ref_value_header {
  std::uint64_t token = 0;
};

/// Asks an actor's owner to hold a handle for `grantee` until it attaches under the grant.
struct handle_grant {
  std::string actor;
  std::string grantee;
  std::string grantor;
  std::uint64_t token = 0;
};

/// The holder's word that it holds a handle now, under the grant `grantor` gave as `token`.
struct grant_attach {
  std::string actor;
  std::string grantor;
  std::uint64_t token = 0;
};

/// An actor id alone (attach_actor, release_actor, kill_actor).
struct actor_id_message {
  std::string actor;
};

// The fields of each message, in order; read() throws protocol_error if they do not decode.
void write(field_writer& out, const node_record& m);
void read(field_reader& in, node_record& m);
void write(field_writer& out, const actor_record& m);
void read(field_reader& in, actor_record& m);
void write(field_writer& out, const cluster_view& m);
void read(field_reader& in, cluster_view& m);
void write(field_writer& out, const join_reply& m);
void read(field_reader& in, join_reply& m);
void write(field_writer& out, const heartbeat& m);
void read(field_reader& in, heartbeat& m);
void write(field_writer& out, const task_header& m);
void read(field_reader& in, task_header& m);
void write(field_writer& out, const actor_call_header& m);
void read(field_reader& in, actor_call_header& m);
void write(field_writer& out, const claim_reply& m);
void read(field_reader& in, claim_reply& m);
void write(field_writer& out, const spawn_order& m);
void read(field_reader& in, spawn_order& m);
void write(field_writer& out, const spawn_answer& m);
void read(field_reader& in, spawn_answer& m);
void write(field_writer& out, const actor_end& m);
void read(field_reader& in, actor_end& m);
void write(field_writer& out, const failure& m);
void read(field_reader& in, failure& m);
void write(field_writer& out, const object_pull& m);
void read(field_reader& in, object_pull& m);
void write(field_writer& out, const object_release& m);
void read(field_reader& in, object_release& m);
void write(field_writer& out, const object_dropped& m);
void read(field_reader& in, object_dropped& m);
void write(field_writer& out, const held_result& m);
void read(field_reader& in, held_result& m);
void write(field_writer& out, const ref_value_header& m);
void read(field_reader& in, ref_value_header& m);
void write(field_writer& out, const handle_grant& m);
void read(field_reader& in, handle_grant& m);
void write(field_writer& out, const grant_attach& m);
void read(field_reader& in, grant_attach& m);
void write(field_writer& out, const actor_id_message& m);
void read(field_reader& in, actor_id_message& m);

/// Appends message `m`'s fields to `out`.
template <class M>
void append(std::string& out, const M& m) {
  field_writer w(out);
  write(w, m);
}

/// Message `m`'s fields alone.
template <class M>
std::string to_bytes(const M& m) {
  std::string out;
  append(out, m);
  return out;
}

/// A request's payload: the kind byte, then `m`'s fields (more may be appended).
template <class M>
std::string request_payload(request_kind kind, const M& m) {
  std::string out(1, static_cast<char>(kind));
  append(out, m);
  return out;
}

/// A response's payload: the status byte, then `m`'s fields.
template <class M>
std::string response_payload(response_status status, const M& m) {
  std::string out(1, static_cast<char>(status));
  append(out, m);
  return out;
}

/// Decodes an M from all of `bytes`; `what` names it in the protocol_error thrown when the
/// bytes are short, malformed or too many.
template <class M>
M from_bytes(std::span<const std::byte> bytes, std::string_view what) {
  field_reader in(bytes, what);
  M m;
  read(in, m);
  in.finish();
  return m;
}

/// Decodes an M from the front of `bytes` and advances `bytes` past it (a header before
/// encoded values).
template <class M>
M take_front(std::span<const std::byte>& bytes, std::string_view what) {
  field_reader in(bytes, what);
  M m;
  read(in, m);
  bytes = in.rest();
  return m;
}

}  // namespace weft::wire
