#pragma once
// Where a task of a registered function (or a new actor) goes (DESIGN.md section 5, "Placement").
// The caller has already decided it leaves this node (its local queue passed the threshold, or it
// needs resources this node lacks); this picks among the workers that registered the function and
// have the resources, the one with the lowest load (its last reported load plus what this
// node has sent it since), rotating among equals so that equal nodes share the work.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "weft/cluster.hpp"

namespace weft::cluster {

/// A worker as placement sees it.
struct placement_candidate {
  const node_status* node;  ///< Its last known status.
  std::uint64_t in_flight;  ///< Tasks this node sent it that have not come back.
};

/// Which list of a node's registrations to look in: its functions or its actor types.
using catalog = std::vector<std::string> node_status::*;

/// The index in `candidates` of the node to run `name` (a function, or an actor type, as
/// `list` says) needing `resources`, or nothing if no worker qualifies. `rotation` breaks ties
/// (pass a counter that advances per task).
std::optional<std::size_t> choose_node(const std::vector<placement_candidate>& candidates,
                                       catalog list, const std::string& name,
                                       const resource_map& resources, std::size_t rotation);

/// `r` as "gpu=1,mem=4" ("none" when empty), for messages.
std::string format_resources(const resource_map& r);

/// True when `have` holds at least `needs` of every resource `needs` names.
bool fits(const resource_map& have, const resource_map& needs);

/// True when `node` is a worker whose `list` has `name` and that has `resources`.
bool can_run(const node_status& node, catalog list, const std::string& name,
             const resource_map& resources);

}  // namespace weft::cluster
