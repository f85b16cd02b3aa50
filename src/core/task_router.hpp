#pragma once
// The seam between the in-process scheduler and the cluster layer (DESIGN.md section 2): a
// runtime in a cluster has a router, which sees every task of a registered function once its
// dependencies are ready and may run it on another node instead. The core knows nothing of
// sockets; it only asks "is this one yours?".

#include <string>
#include <typeinfo>
#include <vector>

#include "metric_snapshot.hpp"
#include "weft/cluster.hpp"

namespace weft::detail {

class task_base;
class actor_base;
struct cluster_spawn_request;

/// Decides where tasks of registered functions run; owned by their runtime_core.
class task_router {
 public:
  virtual ~task_router() = default;

  /// Offered a task whose `remote_` is set, dependencies ready and not yet started. Returns
  /// false to let it run here. Returning true means the router took it: it has moved the task
  /// to `running` (or failed it) and calls runtime_core::finish once it is complete.
  virtual bool route(task_base& task) noexcept = 0;

  /// The runtime is shutting down: stop placing work elsewhere and complete every task taken
  /// by route() (with an error if its result has not come back). Called once, before the
  /// runtime waits for its live tasks.
  virtual void stop() noexcept = 0;

  /// This node's id in the cluster, for messages ("" until it has joined).
  virtual std::string node_id() const = 0;

  /// Places a spawn (here or on another node; named actors are claimed cluster-wide) and
  /// returns the actor's cell with a reference and a handle for the caller. Throws as spawn.
  virtual actor_base* spawn_actor(cluster_spawn_request& request) = 0;
  /// The live actor named `name` in namespace `ns` on another node (a stand-in for it), with a
  /// reference and a handle for the caller; nullptr if the cluster has none. Throws
  /// weft::error if it is not a `type`, or the head cannot be asked.
  virtual actor_base* find_actor(const std::string& name, const std::string& ns,
                                 const std::type_info& type) = 0;
  /// An actor other nodes can reach (marked exported) died: tell them, free its name.
  virtual void actor_died(actor_base& actor) noexcept = 0;

  /// Every live node as the head last reported it, this node's own figures (load, available
  /// resources) current.
  virtual std::vector<node_status> nodes() const = 0;

  /// Adds the cluster layer's figures (bytes per peer, heartbeats, refused connections) to
  /// `out`, for the metrics endpoint.
  virtual void collect_metrics(metric_snapshot& out) const = 0;

  /// The IP address this node listens on for peers (its HTTP endpoints listen there too).
  virtual std::string listen_host() const = 0;

  /// The token the node proves (its default token file's, when none was given); "" if none.
  virtual std::string cluster_token() const = 0;
};

}  // namespace weft::detail
