// Public status structs to wire records and back.

#include "records.hpp"

namespace weft::wire {

role_code code_of(node_role role) noexcept {
  switch (role) {
    case node_role::worker:
      return role_code::worker;
    case node_role::head:
      return role_code::head;
    case node_role::driver:
    case node_role::automatic:
      break;
  }
  return role_code::driver;
}

node_role role_of(role_code code) noexcept {
  switch (code) {
    case role_code::worker:
      return node_role::worker;
    case role_code::head:
      return node_role::head;
    case role_code::driver:
      break;
  }
  return node_role::driver;
}

node_record to_record(const node_status& n) {
  return {n.id,           code_of(n.role), n.address,        n.resources,
          n.available,    n.functions,     n.actor_types,    n.load,
          n.tasks_served, n.bytes_sent,    n.bytes_received, n.uptime_seconds,
          n.pid,          n.heartbeats};
}

node_status from_record(const node_record& r) {
  return {r.id,           role_of(r.role), r.address,        r.resources,
          r.available,    r.functions,     r.actor_types,    r.load,
          r.tasks_served, r.bytes_sent,    r.bytes_received, r.uptime_seconds,
          r.pid,          r.heartbeats};
}

actor_record to_record(const actor_status& a) {
  return {a.name, a.name_space, a.type, a.node, a.id};
}

actor_status from_record(const actor_record& r) {
  return {r.name, r.name_space, r.type, r.node, r.id};
}

cluster_view to_record(const cluster_status& s) {
  cluster_view v;
  v.cluster_name = s.cluster_name;
  for (const auto& n : s.nodes)
    v.nodes.push_back(to_record(n));
  for (const auto& a : s.actors)
    v.actors.push_back(to_record(a));
  return v;
}

cluster_status from_record(const cluster_view& v) {
  cluster_status s;
  s.cluster_name = v.cluster_name;
  for (const auto& n : v.nodes)
    s.nodes.push_back(from_record(n));
  for (const auto& a : v.actors)
    s.actors.push_back(from_record(a));
  return s;
}

}  // namespace weft::wire
