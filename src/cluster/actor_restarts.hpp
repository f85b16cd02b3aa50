#pragma once
// What a creator keeps to re-create its actors on another node when their node dies
// (actor_options::max_restarts): for each actor it spawned elsewhere with restarts left, the
// spawn order, the encoded constructor arguments (kept, and the arena objects among them
// pinned, for the actor's whole life), the restarts and call retries left, the node it lives
// on, its stand-in, and the calls that were in flight when that node was lost. It owns that
// under its own lock (a leaf: it calls only the stand-ins' restart flags). Callers: spawns
// (keep), the io thread (nodes lost, calls parked) and the restart jobs (actor_restart.cpp).

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "protocol.hpp"
#include "sent_calls.hpp"
#include "weft/config.hpp"
#include "weft/detail/wire_value.hpp"

namespace weft::cluster {

class actor_proxy;

/// One actor this node may re-create elsewhere.
struct kept_actor {
  spawn_order order;                              ///< As last sent.
  std::shared_ptr<detail::wire_value> arguments;  ///< The constructor's, encoded.
  resource_map resources;                         ///< actor_options::resources.
  int restarts_left = 0;
  int max_task_retries = 0;
  std::string node;              ///< Where it lives now.
  actor_proxy* proxy = nullptr;  ///< Its stand-in here (not owned).
  /// A named actor another process spawned (found by name here): its stand-in follows it to
  /// where its spawner re-creates it, found by name at the head, instead of re-creating it.
  bool follower = false;
};

/// The actors this node re-creates when their node dies.
class actor_restarts {
 public:
  /// Keeps `actor` (its id is order.id) until its stand-in goes.
  void keep(kept_actor actor);
  /// Forgets actor `id` if `proxy` is its stand-in (the stand-in is being deleted).
  void forget(const std::string& id, const actor_proxy* proxy) noexcept;
  /// Starts the restart of every kept actor living on `node` that is not restarting yet: marks
  /// its stand-in restarting and returns their ids and stand-ins, each stand-in with a
  /// reference taken for the restart job.
  std::vector<std::pair<std::string, actor_proxy*>> begin_for(const std::string& node);
  /// Keeps `call` (an actor call in flight when its owner was lost) for the restart job if its
  /// stand-in is restarting; false otherwise (the caller fails it).
  bool park(sent_call& call);
  /// A copy of kept actor `id`, if still kept.
  std::optional<kept_actor> find(const std::string& id) const;
  /// Actor `id` lives on `node` now, with `restarts_left`; the calls parked for it.
  std::vector<sent_call> restarted(const std::string& id, const std::string& node,
                                   int restarts_left);
  /// Stops keeping actor `id` (it died for good); the calls parked for it.
  std::vector<sent_call> drop(const std::string& id);
  /// Forgets every kept actor, not the parked calls (the node stops: stand-ins can no longer
  /// unregister themselves).
  void forget_all() noexcept;
  /// Every call parked (the node stops).
  std::vector<sent_call> take_all_parked();

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, kept_actor> kept_;
  std::unordered_map<std::string, std::vector<sent_call>> parked_;
};

}  // namespace weft::cluster
