#pragma once
// The public status structs (weft/cluster.hpp) and the wire's records of them, mapped field by
// field: adding a field to a public struct changes the protocol only once it is added here.

#include "messages.hpp"
#include "weft/cluster.hpp"

namespace weft::wire {

/// The wire's role code of `role` (automatic counts as driver, what it joins as).
role_code code_of(node_role role) noexcept;
/// The role a role code names.
node_role role_of(role_code code) noexcept;

/// `n` as the wire carries it.
node_record to_record(const node_status& n);
/// The node a record describes.
node_status from_record(const node_record& r);
/// `a` as the wire carries it.
actor_record to_record(const actor_status& a);
/// The named actor a record describes.
actor_status from_record(const actor_record& r);
/// `s` as the wire carries it.
cluster_view to_record(const cluster_status& s);
/// The cluster a view describes.
cluster_status from_record(const cluster_view& v);

}  // namespace weft::wire
