// Choosing a worker for a task.

#include "placement.hpp"

#include <algorithm>
#include <limits>

#include <fmt/core.h>

namespace weft::cluster {

std::string format_resources(const resource_map& r) {
  std::string out;
  for (const auto& [name, amount] : r)
    out += fmt::format("{}{}={}", out.empty() ? "" : ",", name, amount);
  return out.empty() ? "none" : out;
}

bool fits(const resource_map& have, const resource_map& needs) {
  for (const auto& [resource, amount] : needs) {
    auto found = have.find(resource);
    if (found == have.end() || found->second < amount) return false;
  }
  return true;
}

bool can_run(const node_status& node, catalog list, const std::string& name,
             const resource_map& resources) {
  if (node.role != node_role::worker) return false;
  const std::vector<std::string>& names = node.*list;
  if (!std::binary_search(names.begin(), names.end(), name)) return false;
  return fits(node.resources, resources);
}

std::optional<std::size_t> choose_node(const std::vector<placement_candidate>& candidates,
                                       catalog list, const std::string& name,
                                       const resource_map& resources, std::size_t rotation) {
  // Among the nodes that qualify, the least loaded; equals take turns (the rotation starts at
  // a different qualifying node each time, so two qualifying nodes among many share evenly).
  std::vector<std::size_t> qualifying;
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (can_run(*candidates[i].node, list, name, resources)) qualifying.push_back(i);
  if (qualifying.empty()) return std::nullopt;
  std::optional<std::size_t> best;
  std::uint64_t best_load = std::numeric_limits<std::uint64_t>::max();
  for (std::size_t k = 0; k < qualifying.size(); ++k) {
    const std::size_t i = qualifying[(rotation + k) % qualifying.size()];
    const std::uint64_t load = candidates[i].node->load + candidates[i].in_flight;
    if (load < best_load) {
      best = i;
      best_load = load;
    }
  }
  return best;
}

}  // namespace weft::cluster
