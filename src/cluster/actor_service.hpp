#pragma once
// The actors of a node as the cluster sees them (DESIGN.md section 5). It owns, under its own
// lock:
// - the owner's side: the actors of this node that other nodes can reach (named, spawned here
//   for another node, or sent inside an argument), with one handle held per node holding
//   them, and the death messages of those that ended (tombstones, bounded);
// - the stand-ins (actor_proxy) of actors living elsewhere, one per actor;
// - grants: handles held for a node that was sent a handle inside an argument, until it
//   attaches (attaches that came before their grant are remembered, bounded).
// Its lock is a leaf: nothing is called while it is held but the cells' and stand-ins' own
// counters. It reaches other nodes through actor_links (the node), always outside its lock.
// Callers: the io thread (requests of the actor kinds, closed connections, nodes gone), and
// any thread that spawns, looks up, sends or receives an actor handle, or whose actor dies.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <typeinfo>
#include <unordered_map>
#include <vector>

#include "connection.hpp"
#include "protocol.hpp"
#include "weft/cluster.hpp"
#include "weft/detail/wire_value.hpp"

namespace weft::detail {
class actor_base;
class runtime_core;
}  // namespace weft::detail

namespace weft::cluster {

class actor_proxy;
struct node_handle;

/// What the actor service asks of its node.
class actor_links {
 public:
  /// This node's id ("" before it joined).
  virtual std::string node_id() const = 0;
  /// A link to member `id` (dialled if needed), or null when it is not a member.
  virtual std::shared_ptr<connection> link_to_member(const std::string& id) = 0;
  /// Sends a request of `kind` to member `node_id` and waits (bounded) for its answer; throws
  /// weft::error when it cannot be sent or is not answered in time.
  virtual wire::byte_buffer ask_node(const std::string& node_id, request_kind kind,
                                     const std::string& body) = 0;
  /// Frees the name of `named` at the head (nothing is waited for).
  virtual void forget_claim(const actor_status& named) noexcept = 0;

 protected:
  ~actor_links() = default;
};

/// This node's exported actors, stand-ins and grants.
class actor_service {
 public:
  actor_service(detail::runtime_core& core, actor_links& links,
                std::shared_ptr<node_handle> handle);
  actor_service(const actor_service&) = delete;
  actor_service& operator=(const actor_service&) = delete;

  /// A new cluster-wide actor id, "node/number".
  std::string new_actor_id();
  /// Sends a request of `kind` to node `node_id`, expecting no answer (logged if it fails).
  void tell(const std::string& node_id, request_kind kind, const std::string& body) noexcept;

  // ---- the owner's side (actor_service.cpp) ----
  /// Makes `cell` reachable from other nodes as `named` (one reference kept); `holder`, when
  /// given, is the connection of the node that holds its first handle.
  void export_actor(detail::actor_base* cell, const actor_status& named, const connection* holder);
  /// The exported actor `id` with one reference for the caller, or nullptr.
  detail::actor_base* exported_cell(const std::string& id);
  /// Why the actor `id` is not here: its death message, or that it never was.
  std::string tombstone(const std::string& id);
  /// Keeps the death message of the actor `id`.
  void add_tombstone(const std::string& id, const std::string& message);
  /// An exported actor died: tells the nodes holding it, frees its name, keeps its message.
  void actor_died(detail::actor_base& actor) noexcept;
  /// A node asks to hold a handle to an exported actor (answered when `request` is not 0).
  void on_attach_actor(connection& c, std::uint64_t request, std::span<const std::byte> body);
  /// A node lets go of its handle to an exported actor.
  void on_release_actor(connection& c, std::span<const std::byte> body);
  /// A node asks to kill an exported actor.
  void on_kill_actor(connection& c, std::span<const std::byte> body);
  /// The node behind `c` is gone: drops the handles it held.
  void drop_holders_for(const connection& c);

  // ---- stand-ins (actor_service.cpp) ----
  /// A stand-in for the live actor `where` (attached at its owner, which answers); nullptr
  /// when the owner says it has ended.
  detail::actor_base* attach_proxy(const actor_status& where, const std::type_info& type);
  /// Records the stand-in of actor `id`, made for a spawn sent to its node.
  void add_proxy(const std::string& id, actor_proxy* proxy);
  /// The stand-in of actor `id` with one reference for the caller, or nullptr.
  actor_proxy* retained_proxy(const std::string& id);
  /// Forgets the stand-in `proxy` of actor `id` (it is being deleted).
  void forget_proxy(const std::string& id, const actor_proxy* proxy) noexcept;
  /// Forgets every stand-in (the node stops: they can no longer reach it).
  void forget_all_proxies() noexcept;
  /// The named actors exported here, as the head's directory lists them (living on `self`).
  std::vector<actor_status> named_exports(const std::string& self);
  /// The stand-ins of named actors another process spawned, living on node `node_id` and not
  /// restarting, each with a reference taken for the caller.
  std::vector<actor_proxy*> named_proxies_of(const std::string& node_id);
  /// The stand-ins of node `node_id`'s actors die with `why` (the node or its link is gone),
  /// except those being restarted on another node.
  void proxies_lost(const std::string& node_id, const std::string& why);
  /// The owner reports one of its actors dead: its stand-in here dies with the message.
  void on_actor_ended(std::span<const std::byte> body);

  // ---- handles inside arguments (actor_grants.cpp) ----
  /// Describes `cell` for node `target`, asking its owner to hold a handle for `target` until
  /// it attaches (a grant).
  detail::wire_actor grant_actor(detail::actor_base& cell, const std::string& target);
  /// The actor an entry of an arrived argument list names, with a reference and a handle held
  /// for the caller (a stand-in when it lives elsewhere); attaches under the entry's grant.
  detail::actor_base* attach_arrived(const detail::wire_actor& entry);
  /// A node that sends a handle to an actor of this node asks to hold one for the receiver.
  void on_grant_actor(std::span<const std::byte> body);
  /// A call on `c` to `actor`, which is not here: when `c`'s node attached to it before its
  /// spawn arrived (its attach is parked), keeps `replay` to run, in arrival order, once the
  /// grant settles that attach, and returns true. At most 4096 calls and 256 MiB (`bytes`
  /// each) wait at once on a node; past that the call is refused as for an unknown actor.
  /// Io thread.
  bool park_call(const connection& c, const std::string& actor, std::size_t bytes,
                 std::function<void()> replay);
  /// A receiver attaches under a grant (or before it came).
  void on_attach_granted(connection& c, std::span<const std::byte> body);
  /// The node `node_id` is gone: drops the handles granted to it, and settles the attaches
  /// parked for grants it would have sent (the actor is gone for them).
  void drop_grants_for(const std::string& node_id);

 private:
  // An actor of this node that other nodes can reach.
  struct exported_actor {
    detail::actor_base* cell = nullptr;  // one reference held
    std::string name;
    std::string name_space;
    std::string type;
    // Connections of nodes holding handles (one handle held for each).
    std::map<const connection*, std::weak_ptr<connection>> holders;
  };
  // A handle held for `grantee` until it attaches.
  struct actor_grant {
    std::string actor;
    std::string grantee;
  };

  void add_tombstone_locked(const std::string& id, const std::string& message);
  void remember_early_attach(const std::string& key);
  // Keeps an attach under grant `key` to actor `actor`, which is not here yet (its spawn, on
  // another link, has not arrived), until its grant comes; the oldest past the bound is told
  // its actor ended (appended to `ended` with the actor's id), and the calls parked behind it
  // are let go (appended to `replays`). mutex_ held.
  void park_attach(const std::string& key, const std::string& actor, connection& c,
                   std::vector<std::pair<std::shared_ptr<connection>, std::string>>& ended,
                   std::vector<std::function<void()>>& replays);
  // Tells the node on `c` that actor `actor` ended (or was never here).
  void tell_ended(connection& c, const std::string& actor);
  // The stand-in of `id` with a reference and a handle for the caller, or nullptr.
  actor_proxy* existing_proxy(const std::string& id);
  // The exported id of `cell` ("" when it is not exported).
  std::string export_id_of(const detail::actor_base& cell);

  detail::runtime_core& core_;
  actor_links& links_;
  const std::shared_ptr<node_handle> handle_;
  std::atomic<std::uint64_t> next_actor_{1};
  std::atomic<std::uint64_t> next_grant_{1};

  std::mutex mutex_;
  std::unordered_map<std::string, exported_actor> exports_;  // by actor id
  std::unordered_map<const detail::actor_base*, std::string> export_ids_;
  std::map<std::string, std::string> tombstones_;          // ended actors' ids -> death messages
  std::deque<std::string> tombstone_order_;                // oldest first, to bound tombstones_
  std::unordered_map<std::string, actor_proxy*> proxies_;  // stand-ins here, by actor id
  std::map<std::string, actor_grant> grants_;              // by "grantor/token"
  std::set<std::string> early_attaches_;
  std::deque<std::string> early_attach_order_;
  // Attaches that came before their actor's spawn, by "grantor/token": the grant, which
  // follows the spawn on the grantor's link, completes them.
  struct parked_attach {
    std::string actor;
    const connection* link;
    std::weak_ptr<connection> via;
  };
  std::map<std::string, parked_attach> parked_attaches_;
  std::deque<std::string> parked_attach_order_;
  // Calls behind a parked attach, by its link and actor, in arrival order.
  struct parked_call {
    std::size_t bytes;
    std::function<void()> replay;
  };
  std::map<std::pair<const connection*, std::string>, std::vector<parked_call>> parked_calls_;
  std::size_t parked_call_count_ = 0;
  std::size_t parked_call_bytes_ = 0;
  // Takes the calls parked behind (link, actor) into `out`. mutex_ held.
  void take_parked_calls(const connection* link, const std::string& actor,
                         std::vector<std::function<void()>>& out);
};

}  // namespace weft::cluster
