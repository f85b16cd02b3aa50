#pragma once
// The head's own service (DESIGN.md section 5, "Failure"): who is a member, on which
// connection each member joined, their heartbeats and the sweep that declares silent ones
// dead, the cluster view it sends every member, the cluster-wide directory of named actors,
// `weft status` and `weft stop`. Present only on the head's node, which holds it and hands it
// the frames of these kinds.
//
// Owns: the membership table, the member of each connection, the names, the time of its last
// tick. Thread: the node's io thread only (a head's local name lookups are posted there), so
// it has no lock. Calls: the members' connections (answers, the view, stop, closing a dead
// member's link); nothing of the node.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "connection.hpp"
#include "membership.hpp"
#include "protocol.hpp"
#include "weft/cluster_settings.hpp"

namespace weft::cluster {

/// The head's membership, heartbeats and named-actor directory.
class head_service {
 public:
  /// The service of a head described by `self`, with the cluster's name and heartbeat
  /// timing from `settings`.
  head_service(const cluster_settings& settings, node_status self);

  /// A node asks to join on `c` (request `id`): it gets an id and the view, and every member
  /// the new view. Throws protocol_error for a second join on one connection or a role that
  /// cannot join.
  void on_join(connection& c, std::uint64_t id, std::span<const std::byte> body);
  /// A member's heartbeat; a node declared dead earlier is closed instead of taken back.
  void on_heartbeat(connection& c, std::span<const std::byte> body);
  /// Nodes that are members now, the head included.
  std::size_t member_count() const noexcept { return members_.size(); }
  /// Nodes declared dead for missing their heartbeats since this head started.
  std::uint64_t declared_dead() const noexcept { return declared_dead_; }
  /// The id of the member that joined on `c`, or "" if none did.
  std::string member_on(const connection& c) const {
    auto it = member_of_.find(&c);
    return it == member_of_.end() ? std::string() : it->second;
  }
  /// Answers `weft status` (request `id` on `c`): the view with the named actors.
  void on_status(connection& c, std::uint64_t id) const;
  /// Answers `weft stop` on `c` and tells every member to stop; the caller then stops its own
  /// node.
  void on_stop(connection& c, std::uint64_t id);
  /// Records the head's own `load` and free resources, declares members silent for longer
  /// than the heartbeat timeout dead (closing their links, dropping their names) and sends
  /// everyone the view.
  void tick(const heartbeat& self);
  /// Connection `c` closed for `reason`: its member (if any) leaves, with its names. `stopping`
  /// when this node is shutting down (the leave is then expected).
  void lost(connection& c, const std::string& reason, bool stopping);
  /// The answer (a whole response payload) to a claim_name or find_name request `kind`.
  /// Throws protocol_error for a claim on behalf of a node that is not a member.
  std::string answer_name(request_kind kind, std::span<const std::byte> body);
  /// Forgets the named actor in `body`, if that name still points at it.
  void forget_name(std::span<const std::byte> body);

 private:
  using clock = std::chrono::steady_clock;

  void broadcast_view();
  void drop_names_of(const std::string& node_id);

  const cluster_settings& settings_;
  membership members_;
  std::uint64_t declared_dead_ = 0;
  std::map<const connection*, std::string> member_of_;  // a member's link -> its id
  std::map<std::string, actor_status> names_;           // "ns\0name" -> actor
  clock::time_point last_tick_ = clock::now();
};

}  // namespace weft::cluster
