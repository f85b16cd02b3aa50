// Choosing a worker for a task.

#include "placement.hpp"

#include <algorithm>
#include <limits>

namespace weft::cluster {

bool can_run(const node_status& node, const std::string& function, const resource_map& resources) {
  if (node.role != "worker") return false;
  if (!std::binary_search(node.functions.begin(), node.functions.end(), function)) return false;
  for (const auto& [name, amount] : resources) {
    auto have = node.resources.find(name);
    if (have == node.resources.end() || have->second < amount) return false;
  }
  return true;
}

std::optional<std::size_t> choose_node(const std::vector<placement_candidate>& candidates,
                                       const std::string& function, const resource_map& resources,
                                       std::size_t rotation) {
  const std::size_t n = candidates.size();
  std::optional<std::size_t> best;
  std::uint64_t best_load = std::numeric_limits<std::uint64_t>::max();
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (rotation + k) % n;
    const placement_candidate& c = candidates[i];
    if (!can_run(*c.node, function, resources)) continue;
    const std::uint64_t load = c.node->load + c.in_flight;
    if (load < best_load) {
      best = i;
      best_load = load;
    }
  }
  return best;
}

}  // namespace weft::cluster
