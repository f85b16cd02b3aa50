// The head's membership table.

#include "membership.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>

#include <fmt/core.h>

namespace weft::cluster {

membership::membership(std::string cluster_name, node_status head, clock::time_point now)
    : cluster_name_(std::move(cluster_name)), head_id_(head.id) {
  members_.emplace(head_id_, member{std::move(head), now, now, joins_++});
}

std::string membership::join(node_status node, clock::time_point now) {
  std::string id;
  do {
    id = fmt::format("{}-{}", role_name(node.role), ++counters_[role_name(node.role)]);
  } while (members_.count(id) != 0);
  node.id = id;
  node.available = node.resources;  // until its first heartbeat says otherwise
  node.heartbeats = 0;
  members_.emplace(id, member{std::move(node), now, now, joins_++});
  return id;
}

std::string membership::rejoin(node_status node, clock::time_point now) {
  const std::string id = node.id;
  if (members_.count(id) != 0) {
    return fmt::format("node {} asked to join again, but a node of that id is a member", id);
  }
  if (departed_.count(id) != 0) {
    return fmt::format(
        "node {} left this cluster or was declared dead (it was silent for longer than the "
        "heartbeat timeout); restart it to join as a new node",
        id);
  }
  // Later ids must not reuse this one: "worker-7" moves the workers' counter to at least 7.
  const std::string prefix = std::string(role_name(node.role)) + "-";
  if (id.rfind(prefix, 0) == 0) {
    std::uint64_t n = 0;
    const auto digits = std::string_view(id).substr(prefix.size());
    if (std::from_chars(digits.data(), digits.data() + digits.size(), n).ec == std::errc{}) {
      std::uint64_t& counter = counters_[role_name(node.role)];
      counter = std::max(counter, n);
    }
  }
  node.available = node.resources;
  node.heartbeats = 0;
  members_.emplace(id, member{std::move(node), now, now, joins_++});
  return {};
}

bool membership::heartbeat(const std::string& id, const cluster::heartbeat& beat,
                           clock::time_point now) {
  auto found = members_.find(id);
  if (found == members_.end()) return false;
  member& m = found->second;
  m.last_seen = now;
  m.status.load = beat.load;
  m.status.tasks_served = beat.tasks_served;
  m.status.bytes_sent = beat.bytes_sent;
  m.status.bytes_received = beat.bytes_received;
  m.status.available = beat.available;
  ++m.status.heartbeats;
  return true;
}

std::vector<std::string> membership::sweep(clock::time_point now,
                                           std::chrono::milliseconds timeout) {
  std::vector<std::string> dead;
  for (auto it = members_.begin(); it != members_.end();) {
    if (it->first != head_id_ && now - it->second.last_seen > timeout) {
      dead.push_back(it->first);
      departed_.insert(it->first);
      it = members_.erase(it);
    } else {
      ++it;
    }
  }
  return dead;
}

bool membership::remove(const std::string& id) {
  if (id == head_id_) return false;
  if (members_.erase(id) == 0) return false;
  departed_.insert(id);
  return true;
}

void membership::update_self(const cluster::heartbeat& beat) {
  heartbeat(head_id_, beat, members_.at(head_id_).last_seen);
}

cluster_status membership::view(clock::time_point now) const {
  std::vector<const member*> ordered;
  ordered.reserve(members_.size());
  for (const auto& entry : members_)
    ordered.push_back(&entry.second);
  std::sort(ordered.begin(), ordered.end(),
            [](const member* a, const member* b) { return a->order < b->order; });
  cluster_status out;
  out.cluster_name = cluster_name_;
  for (const member* m : ordered) {
    node_status s = m->status;
    s.uptime_seconds = std::chrono::duration<double>(now - m->joined).count();
    out.nodes.push_back(std::move(s));
  }
  return out;
}

}  // namespace weft::cluster
