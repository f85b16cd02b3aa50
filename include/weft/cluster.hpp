#pragma once
/// \file
/// Looking at and stopping a running cluster from outside it (what `weft status` and
/// `weft stop` do). Joining a cluster needs no call: set `config::cluster` (or WEFT_ADDRESS).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "weft/cluster_settings.hpp"
#include "weft/config.hpp"

namespace weft {

/// One node as the head sees it.
struct node_status {
  std::string id;  ///< Assigned by the head: "head", "worker-1", "driver-2", ...
  node_role role = node_role::driver;  ///< head, worker or driver (automatic: in-process).
  std::string address;                 ///< Where it listens for peers (host:port).
  resource_map resources{};            ///< Its resource capacities.
  /// Units of each resource free at its last heartbeat: neither held by running tasks and
  /// actors nor asked for by work waiting there (negative when more is waiting than free).
  resource_map available{};
  std::vector<std::string> functions{};    ///< Names registered with WEFT_REMOTE in its program.
  std::vector<std::string> actor_types{};  ///< Types registered with WEFT_ACTOR in its program.
  std::uint64_t load = 0;                  ///< Tasks live on it at its last heartbeat.
  std::uint64_t tasks_served = 0;          ///< Tasks it ran for other nodes.
  std::uint64_t bytes_sent = 0;            ///< Bytes it wrote to other nodes.
  std::uint64_t bytes_received = 0;        ///< Bytes it read from other nodes.
  double uptime_seconds = 0;               ///< Time since it joined.
  std::int64_t pid = 0;                    ///< Its process id (on its machine).
  std::uint64_t heartbeats = 0;            ///< Heartbeats the head received from it.
};

/// A named actor as the head's directory records it.
struct actor_status {
  std::string name;        ///< Its name (actor_options::name).
  std::string name_space;  ///< Its namespace.
  std::string type;        ///< Its type's WEFT_ACTOR name (or C++ name if unregistered).
  std::string node;        ///< The node it lives on.
  std::string id;          ///< Its id in the cluster ("<spawning node>/<counter>").
};

/// The membership of a cluster: every live node, the head first.
struct cluster_status {
  std::string cluster_name;            ///< The cluster's name (cluster_settings::cluster_name).
  std::vector<node_status> nodes;      ///< Live nodes; dead ones are removed.
  std::vector<actor_status> actors{};  ///< Named actors (in status answers), by namespace, name.
};

/// Connects to the head at `settings.address` (token and cluster name from `settings`) and
/// returns its view of the cluster. Throws weft::error when the head cannot be reached within
/// `timeout`, auth_error when it refuses the handshake.
cluster_status query_cluster(const cluster_settings& settings,
                             std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// Asks the head at `settings.address` to stop the cluster: every worker's serve() returns
/// (its process exits), then the head's. Errors as query_cluster.
void stop_cluster(const cluster_settings& settings,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// A readable table of `status` (what `weft status` prints).
std::string format_status(const cluster_status& status);

}  // namespace weft
