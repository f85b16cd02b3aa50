#pragma once
// This node's picture of the cluster, for placement: the head's last list of nodes and what
// this node has sent to each since (tasks in flight and the resources they hold, actors it
// placed there, resources reserved for actors it spawned there until a heartbeat shows them).
// It owns that state under its own lock and calls nothing outside placement.cpp, so any
// thread may call it while holding the node's lock (the node's lock comes first, never after).
// Callers: the node's route (any thread that submits), actor placement, and the io thread
// (views from the head, answered spawns, lost connections).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "placement.hpp"
#include "weft/cluster.hpp"

namespace weft::cluster {

/// A node chosen to run something: its id and the address to reach it at.
struct placement_target {
  std::string id;
  std::string address;
};

/// The cluster as this node last heard of it, and the load it sent each node since.
class placement_view {
 public:
  /// Replaces the view with the head's `view`; the ids of the nodes it no longer lists. Ends
  /// the reservations whose actor a heartbeat now shows, or whose node is gone. A dropped
  /// node stays out while `view` shows no heartbeat of it newer than when it was dropped.
  std::vector<std::string> apply(cluster_status view);
  /// Takes node `id` out of the view (its link closed: most likely it died) until the head
  /// reports a heartbeat of it newer than the last one known now, so that a view the head
  /// sent before it noticed the death does not bring the node back.
  void drop(const std::string& id);
  /// Forgets what was counted against node `id` (it left the cluster).
  void forget_load(const std::string& id);
  /// This node joined a head again (the head restarted): until `settle_until` a node missing
  /// from the new head's views is kept (it may not have joined it again yet); drops and
  /// reservations counted in the old head's heartbeats are forgotten.
  void head_returned(std::chrono::steady_clock::time_point settle_until);

  /// A copy of the nodes in view.
  std::vector<node_status> nodes() const;
  /// Node `id` as last reported, if it is in view.
  std::optional<node_status> member(const std::string& id) const;
  /// True while the head's last view lists node `id`, even if it was dropped here.
  bool listed_by_head(const std::string& id) const;
  /// The address of node `id`, if it is in view.
  std::optional<std::string> address_of(const std::string& id) const;
  /// Tasks this node has sent out that have not come back (read without the lock: every
  /// task the core offers asks it).
  std::uint64_t in_flight_total() const noexcept {
    return in_flight_total_.load(std::memory_order_relaxed);
  }

  /// The node to send a task of `function` needing `needs` to: among those with the resources
  /// free now (by expected_available) first, else any that has them; nothing when no worker
  /// registers it with them.
  std::optional<placement_target> choose_for_task(const std::string& function,
                                                  const resource_map& needs);
  /// The node other than `self` to spawn an actor of `type_name` needing `needs` on, counted
  /// as placed there so that the next ones spread: one with the resources free now when
  /// `free_now`, else any that has them; nothing when no worker qualifies.
  std::optional<std::string> choose_for_actor(const std::string& type_name,
                                              const resource_map& needs, const std::string& self,
                                              bool free_now);
  /// For messages: who has how much of each resource `needs` names free ("gpu: w1 has 0 of 1
  /// free").
  std::string describe_holders(const resource_map& needs) const;

  /// Counts a task holding `resources` into (`sent`) or out of what is in flight to `node`.
  void count(const std::string& node, const resource_map& resources, bool sent);
  /// Reserves `resources` on `node` for the actor spawn request `request` sent there.
  void reserve(const std::string& node, const resource_map& resources, std::uint64_t request);
  /// The spawn `request` was answered: its reservation lasts until a heartbeat of its node
  /// counted past `heartbeats` (`ok`), or ends now (it failed).
  void settle(std::uint64_t request, bool ok, std::uint64_t heartbeats);

 private:
  struct reservation {
    std::string node;
    resource_map resources;
    std::uint64_t request = 0;  // the spawn request, until answered
    std::uint64_t after = 0;    // the node's heartbeat count when it answered
  };
  // Resource units node `n` is expected to have free: its last report, less what was sent
  // there since (mutex_ held).
  resource_map expected_available(const node_status& n) const;
  // Fills candidates_ with the nodes other than `self` (when given), each loaded with its
  // tasks in flight (plus the actors placed there, `with_actors`); only those with `needs`
  // free now when `free_now` (mutex_ held).
  void gather_candidates(const resource_map& needs, bool free_now, bool with_actors,
                         const std::string* self);

  mutable std::mutex mutex_;
  cluster_status view_;
  std::unordered_map<std::string, std::uint64_t> in_flight_;
  std::unordered_map<std::string, resource_map> in_flight_resources_;
  std::unordered_map<std::string, std::uint64_t> actors_placed_;
  std::atomic<std::uint64_t> in_flight_total_{0};  // written under mutex_
  std::vector<reservation> reservations_;
  std::unordered_map<std::string, std::uint64_t> dropped_;  // id -> its heartbeats when dropped
  std::chrono::steady_clock::time_point settle_until_{};    // see head_returned
  std::size_t rotation_ = 0;
  std::vector<placement_candidate> candidates_;  // scratch, reused: no allocation per task
};

}  // namespace weft::cluster
