#pragma once
// What the cluster's request and response frames carry. A request's payload starts with one
// byte naming its kind, a response's with one byte saying whether it succeeded; the rest is a
// cereal portable binary archive of the structures below, except for a task's arguments and
// result, which follow as encoded values (weft/detail/wire_value.hpp) so that large
// contiguous data is written from where it lies.

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <cstdint>
#include <exception>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "weft/cluster.hpp"

namespace weft {

/// cereal's view of a node_status (kept out of the public header).
template <class Archive>
void serialize(Archive& a, node_status& n) {
  a(n.id, n.role, n.address, n.resources, n.available, n.functions, n.actor_types, n.load,
    n.tasks_served, n.bytes_sent, n.bytes_received, n.uptime_seconds, n.pid, n.heartbeats);
}

/// cereal's view of an actor_status.
template <class Archive>
void serialize(Archive& a, actor_status& s) {
  a(s.name, s.name_space, s.type, s.node, s.id);
}

/// cereal's view of a cluster_status.
template <class Archive>
void serialize(Archive& a, cluster_status& s) {
  a(s.cluster_name, s.nodes, s.actors);
}

}  // namespace weft

namespace weft::cluster {

/// What a request asks for. Values are part of the protocol: never renumber.
enum class request_kind : std::uint8_t {
  join = 1,             ///< node -> head: node_status (id empty); answered with join_reply.
  run_task = 2,         ///< any -> worker: task_header, then the encoded arguments.
  status = 3,           ///< any -> head: nothing; answered with cluster_status.
  stop_cluster = 4,     ///< any -> head: nothing; answered empty, then every node is stopped.
  stop_node = 5,        ///< head -> node (request id 0, no answer): stop serving.
  pull_object = 6,      ///< any -> owner: object id, offset, length (8 bytes each); answered
                        ///< with those bytes of the object's encoding.
  release_object = 7,   ///< caller -> owner (request id 0, no answer): object id; drop it.
  spawn_actor = 8,      ///< spawner -> owner: u32 length, spawn_order, encoded arguments;
                        ///< answered empty once the actor exists (its constructor may still run).
  call_actor = 9,       ///< caller -> owner: actor call header, encoded arguments; answered
                        ///< like run_task.
  attach_actor = 10,    ///< holder -> owner (id 0): actor id; the sender now holds a handle.
  release_actor = 11,   ///< holder -> owner (id 0): actor id; the sender's handle is gone.
  kill_actor = 12,      ///< any -> owner (id 0): actor id; kill it.
  actor_ended = 13,     ///< owner -> holder (id 0): actor_end; the actor died.
  claim_name = 14,      ///< node -> head: actor_status; answered with claim_reply.
  find_name = 15,       ///< node -> head: actor_status (namespace and name); answered with
                        ///< actor_status (its id empty when no live actor has the name).
  forget_name = 16,     ///< owner -> head (id 0): actor_status; the name is free again.
  object_dropped = 17,  ///< owner -> puller (id 0): owner id (u32 length, text), object id
                        ///< (u64), then optionally a byte: 1 when the id is an object key (a
                        ///< tracked object offered under several holds); drop the copy kept.
  ref_value = 18,       ///< sender -> receiver (id 0), on the connection of the request that
                        ///< named the ref: its token (u64), once the ref is ready; then the
                        ///< ok status, a tag byte and one argument entry's bytes (its value, or
                        ///< a reference to pull), or the failed status and a failure.
  grant_actor = 19,     ///< sender -> owner (id 0): actor id, grantee, grantor (texts), token
                        ///< (u64): hold a handle for the grantee until it attaches.
  attach_granted = 20,  ///< holder -> owner (id 0): actor id, grantor (texts), token (u64):
                        ///< the sender holds a handle now, under that grant.
};

/// Byte that starts a response.
enum class response_status : std::uint8_t {
  ok = 1,      ///< The result follows (a task's encoded result, or the answer's structure).
  failed = 2,  ///< A `failure` follows.
  held = 3,    ///< A task's result stays on the worker: its object id and size follow.
};

/// The head's answer to a join.
struct join_reply {
  std::string id;       ///< The id assigned to the new node.
  cluster_status view;  ///< The cluster as it is now.
  template <class A>
  void serialize(A& a) {
    a(id, view);
  }
};

/// A node's heartbeat to the head.
struct heartbeat {
  std::uint64_t load = 0;
  std::uint64_t tasks_served = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  /// Units of each resource neither held nor asked for by work waiting there.
  resource_map available;
  template <class A>
  void serialize(A& a) {
    a(load, tasks_served, bytes_sent, bytes_received, available);
  }
};

/// What precedes a task's arguments in a run_task request.
struct task_header {
  std::string function;  ///< The WEFT_REMOTE name.
  std::string name;      ///< task_options::name, for messages.
  std::int32_t retries = 0;
  resource_map resources;
  template <class A>
  void serialize(A& a) {
    a(function, name, retries, resources);
  }
};

/// The head's answer to claim_name: claimed, or who holds the name already.
struct claim_reply {
  bool claimed = false;
  actor_status holder;
  template <class A>
  void serialize(A& a) {
    a(claimed, holder);
  }
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
  std::uint8_t detached = 0;
  resource_map resources;
  template <class A>
  void serialize(A& a) {
    a(id, type, factory, name, name_space, max_concurrency, max_restarts, detached, resources);
  }
};

/// An actor's death, as its owner tells the nodes holding handles to it.
struct actor_end {
  std::string id;
  std::string message;  ///< The actor_died message.
  template <class A>
  void serialize(A& a) {
    a(id, message);
  }
};

/// What precedes a method call's arguments in a call_actor request.
struct actor_call_header {
  std::string actor;   ///< The actor's id.
  std::string method;  ///< "Type::method".
  std::string name;    ///< task_options::name of the call, for messages.
  std::int32_t retries = 0;
};
/// Appends `h` to `out` in the compact form of append_task_header.
void append_actor_call_header(std::string& out, const actor_call_header& h);
/// Reads what append_actor_call_header wrote and advances `bytes` past it; throws
/// protocol_error if it is malformed.
actor_call_header read_actor_call_header(std::span<const std::byte>& bytes);

/// The type name a failure carries for weft::actor_died (mapped back to it by the caller).
inline constexpr std::string_view actor_died_type = "weft::actor_died";

/// Why a request failed: the exception's type name and message, and the node it happened on.
struct failure {
  std::string type;
  std::string message;
  std::string node;
  template <class A>
  void serialize(A& a) {
    a(type, message, node);
  }
};

/// The type name and message of exception `e`, raised on node `node`, for the caller's error.
failure describe_exception(const std::exception_ptr& e, const std::string& node);
/// A failed response's payload: the status byte and `f`.
std::string failure_prefix(const failure& f);
/// The error a caller sees for failure `f` of what `task` names: weft::actor_died,
/// object_lost and cancelled_error keep their type; anything else is a weft::task_error.
std::exception_ptr exception_from(failure f, const std::string& task);

/// Appends `v` to `out` as 4 little-endian bytes.
void append_u32(std::string& out, std::uint32_t v);
/// Appends `s` to `out` as a 4-byte little-endian length and its bytes.
void put_text(std::string& out, const std::string& s);

/// Reads the fields put_text and append_u32/append_u64 wrote from the front of `bytes`, which
/// it advances, refusing to run past its end (protocol_error naming `what`).
class field_reader {
 public:
  field_reader(std::span<const std::byte>& bytes, const char* what) : bytes_(bytes), what_(what) {}
  /// A little-endian integer of `width` bytes (4 or 8).
  std::uint64_t integer(int width);
  /// A text written by put_text.
  std::string text();
  /// Throws protocol_error unless every byte was read.
  void finish() const;

 private:
  void need(std::size_t n) const;
  std::span<const std::byte>& bytes_;
  const char* what_;
};
/// Appends `v` to `out` as 8 little-endian bytes.
void append_u64(std::string& out, std::uint64_t v);
/// The 8 little-endian bytes at the front of `bytes`; throws protocol_error naming `what` if
/// there are fewer.
std::uint64_t read_u64(std::span<const std::byte> bytes, const char* what);

/// Appends `h` to `out` in the compact form that starts a run_task request (every task pays
/// for it, so it avoids cereal's streams): length-prefixed strings and little-endian integers.
void append_task_header(std::string& out, const task_header& h);
/// Reads a task header written by append_task_header from the front of `bytes` and advances
/// `bytes` past it; throws protocol_error if it is malformed.
task_header read_task_header(std::span<const std::byte>& bytes);

/// `value` as a cereal portable binary archive.
template <class T>
std::string to_bytes(const T& value) {
  std::ostringstream out(std::ios::binary);
  {
    cereal::PortableBinaryOutputArchive archive(out);
    archive(value);
  }
  return std::move(out).str();
}

/// Throws protocol_error naming `what`, for bytes that do not decode.
[[noreturn]] void throw_undecodable(const char* what, const char* why);

/// Decodes a T written by to_bytes from `bytes` (all of them); `what` names it for the
/// protocol_error thrown on malformed input.
template <class T>
T from_bytes(std::span<const std::byte> bytes, const char* what) {
  T value{};
  try {
    std::string copy(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    std::istringstream in(std::move(copy), std::ios::binary);
    cereal::PortableBinaryInputArchive archive(in);
    archive(value);
    if (in.peek() != std::char_traits<char>::eof()) throw_undecodable(what, "bytes left over");
  } catch (const cereal::Exception& e) {
    throw_undecodable(what, e.what());
  } catch (const std::length_error& e) {
    throw_undecodable(what, e.what());
  } catch (const std::bad_alloc&) {
    throw_undecodable(what, "a length is too large");
  }
  return value;
}

}  // namespace weft::cluster
