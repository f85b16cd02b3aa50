// Placement's view of the cluster: the nodes and the load this node sent each.

#include "placement_view.hpp"

#include <algorithm>

#include <fmt/core.h>

namespace weft::cluster {

std::vector<std::string> placement_view::apply(cluster_status view) {
  std::vector<std::string> gone;
  std::lock_guard lock(mutex_);
  if (std::chrono::steady_clock::now() < settle_until_) {
    for (const node_status& old : view_.nodes) {
      const bool listed = std::any_of(view.nodes.begin(), view.nodes.end(),
                                      [&](const node_status& n) { return n.id == old.id; });
      if (!listed) view.nodes.push_back(old);
    }
  }
  for (const node_status& old : view_.nodes) {
    bool still = false;
    for (const node_status& now : view.nodes)
      still = still || now.id == old.id;
    if (!still) gone.push_back(old.id);
  }
  for (auto it = dropped_.begin(); it != dropped_.end();) {
    auto listed = std::find_if(view.nodes.begin(), view.nodes.end(),
                               [&](const node_status& n) { return n.id == it->first; });
    if (listed == view.nodes.end()) {
      gone.push_back(it->first);  // the head saw it go too
      it = dropped_.erase(it);
    } else if (listed->heartbeats > it->second) {
      it = dropped_.erase(it);  // alive after all: only its link to this node closed
    } else {
      view.nodes.erase(listed);  // a view from before the head noticed
      ++it;
    }
  }
  view_ = std::move(view);
  std::erase_if(reservations_, [&](const reservation& r) {
    for (const node_status& n : view_.nodes)
      if (n.id == r.node) return r.request == 0 && n.heartbeats > r.after;
    return true;
  });
  return gone;
}

void placement_view::drop(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto listed = std::find_if(view_.nodes.begin(), view_.nodes.end(),
                             [&](const node_status& n) { return n.id == id; });
  if (listed == view_.nodes.end()) return;
  dropped_[id] = listed->heartbeats;
  view_.nodes.erase(listed);
}

void placement_view::head_returned(std::chrono::steady_clock::time_point settle_until) {
  std::lock_guard lock(mutex_);
  settle_until_ = settle_until;
  dropped_.clear();
  std::erase_if(reservations_, [](const reservation& r) { return r.request == 0; });
}

void placement_view::forget_load(const std::string& id) {
  std::lock_guard lock(mutex_);
  in_flight_.erase(id);
  in_flight_resources_.erase(id);
  actors_placed_.erase(id);
}

bool placement_view::listed_by_head(const std::string& id) const {
  std::lock_guard lock(mutex_);
  if (dropped_.count(id) != 0) return true;
  return std::any_of(view_.nodes.begin(), view_.nodes.end(),
                     [&](const node_status& n) { return n.id == id; });
}

std::vector<node_status> placement_view::nodes() const {
  std::lock_guard lock(mutex_);
  return view_.nodes;
}

std::optional<node_status> placement_view::member(const std::string& id) const {
  std::lock_guard lock(mutex_);
  for (const node_status& n : view_.nodes)
    if (n.id == id) return n;
  return std::nullopt;
}

std::optional<std::string> placement_view::address_of(const std::string& id) const {
  std::lock_guard lock(mutex_);
  for (const node_status& n : view_.nodes)
    if (n.id == id) return n.address;
  return std::nullopt;
}

void placement_view::gather_candidates(const resource_map& needs, bool free_now, bool with_actors,
                                       const std::string* self) {
  candidates_.clear();
  for (const node_status& n : view_.nodes) {
    if (self != nullptr && n.id == *self) continue;
    if (free_now && !fits(expected_available(n), needs)) continue;
    std::uint64_t load = in_flight_[n.id];
    if (with_actors) load += actors_placed_[n.id];
    candidates_.push_back({&n, load});
  }
}

std::optional<placement_target> placement_view::choose_for_task(const std::string& function,
                                                                const resource_map& needs) {
  std::lock_guard lock(mutex_);
  // Prefer a node with the resources free now; else one that has them (it waits there).
  for (const bool free_now : {true, false}) {
    if (free_now && needs.empty()) continue;
    gather_candidates(needs, free_now, false, nullptr);
    auto pick = choose_node(candidates_, &node_status::functions, function, needs, rotation_++);
    if (pick) {
      const node_status& target = *candidates_[*pick].node;
      return placement_target{target.id, target.address};
    }
  }
  return std::nullopt;
}

std::optional<std::string> placement_view::choose_for_actor(const std::string& type_name,
                                                            const resource_map& needs,
                                                            const std::string& self,
                                                            bool free_now) {
  std::lock_guard lock(mutex_);
  gather_candidates(needs, free_now, true, &self);
  auto pick = choose_node(candidates_, &node_status::actor_types, type_name, needs, rotation_++);
  if (!pick) return std::nullopt;
  const std::string& target = candidates_[*pick].node->id;
  ++actors_placed_[target];  // spreads the next ones
  return target;
}

resource_map placement_view::expected_available(const node_status& n) const {
  resource_map free = n.available;
  for (const reservation& r : reservations_) {
    if (r.node != n.id) continue;
    for (const auto& [name, amount] : r.resources)
      free[name] -= amount;
  }
  if (auto sent = in_flight_resources_.find(n.id); sent != in_flight_resources_.end()) {
    for (const auto& [name, amount] : sent->second)
      free[name] -= amount;
  }
  return free;
}

std::string placement_view::describe_holders(const resource_map& needs) const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, amount] : needs) {
    std::string holders;
    for (const node_status& n : view_.nodes) {
      auto total = n.resources.find(name);
      if (total == n.resources.end()) continue;
      const resource_map free = expected_available(n);
      auto left = free.find(name);
      const std::int64_t now = left == free.end() ? 0 : std::max<std::int64_t>(left->second, 0);
      holders += fmt::format("{}{} has {} of {} free", holders.empty() ? "" : ", ", n.id, now,
                             total->second);
    }
    out += fmt::format("{}{}: {}", out.empty() ? "" : "; ", name,
                       holders.empty() ? "no node has it" : holders);
  }
  return out;
}

void placement_view::count(const std::string& node, const resource_map& resources, bool sent) {
  std::lock_guard lock(mutex_);
  if (sent) {
    ++in_flight_[node];
    ++in_flight_total_;
  } else {
    --in_flight_[node];
    --in_flight_total_;
  }
  if (resources.empty()) return;
  resource_map& held = in_flight_resources_[node];
  for (const auto& [name, amount] : resources)
    held[name] += sent ? amount : -amount;
}

void placement_view::reserve(const std::string& node, const resource_map& resources,
                             std::uint64_t request) {
  if (resources.empty()) return;
  std::lock_guard lock(mutex_);
  reservations_.push_back({node, resources, request, 0});
}

void placement_view::settle(std::uint64_t request, bool ok, std::uint64_t heartbeats) {
  std::lock_guard lock(mutex_);
  for (auto it = reservations_.begin(); it != reservations_.end(); ++it) {
    if (it->request != request) continue;
    if (ok) {
      it->request = 0;  // until a later heartbeat of that node shows the actor
      it->after = heartbeats;
    } else {
      reservations_.erase(it);
    }
    return;
  }
}

}  // namespace weft::cluster
