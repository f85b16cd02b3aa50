#pragma once
// The head's table of live nodes (DESIGN.md section 5, "Failure"): who joined, with what
// functions and resources, how loaded they were at their last heartbeat, and which of them
// have missed heartbeats for longer than the timeout. Pure bookkeeping: no I/O, no locks (the
// head touches it from its io thread only).

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "protocol.hpp"

namespace weft::cluster {

/// The head's view of the cluster.
class membership {
 public:
  using clock = std::chrono::steady_clock;

  /// A table holding the head itself (`head`, whose id is kept).
  membership(std::string cluster_name, node_status head, clock::time_point now);

  /// Adds a node and returns the id it is given: its role and a counter ("worker-3").
  std::string join(node_status node, clock::time_point now);
  /// Takes back, under its own id (`node.id`), a node that was a member under an earlier
  /// head at this address (this head restarted). Returns why it is refused ("" when taken
  /// back): the id is a member already, or this head saw that node leave or declared it dead,
  /// so an instance that woke up after being replaced never comes back.
  std::string rejoin(node_status node, clock::time_point now);
  /// Records a heartbeat; false if `id` is not a member (dead, or never joined).
  bool heartbeat(const std::string& id, const cluster::heartbeat& beat, clock::time_point now);
  /// Removes the nodes silent for longer than `timeout` and returns their ids.
  std::vector<std::string> sweep(clock::time_point now, std::chrono::milliseconds timeout);
  /// Removes `id`; false if it was not a member.
  bool remove(const std::string& id);
  /// True when `id` is a member.
  bool contains(const std::string& id) const { return members_.count(id) != 0; }
  /// How many nodes are members, the head included.
  std::size_t size() const noexcept { return members_.size(); }
  /// Updates the head's own counters (it sends itself no heartbeats).
  void update_self(const cluster::heartbeat& beat);
  /// The cluster as it is now, the head first, then by join order.
  cluster_status view(clock::time_point now) const;

 private:
  struct member {
    node_status status;
    clock::time_point joined;
    clock::time_point last_seen;
    std::uint64_t order;
  };
  std::string cluster_name_;
  std::string head_id_;
  std::map<std::string, member> members_;
  std::map<std::string, std::uint64_t> counters_;  // per role, for ids
  std::set<std::string> departed_;                 // ids that left or were declared dead
  std::uint64_t joins_ = 0;
};

}  // namespace weft::cluster
