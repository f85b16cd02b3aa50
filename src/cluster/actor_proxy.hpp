#pragma once
// The local stand-in of an actor that lives on another node. It is an actor like any other to
// the program (its handles, its mailbox, its death), but its turn-by-turn delivery sends each
// call to the owning node instead of running it: one call at a time, in mailbox order, on one
// connection, so the owner receives them in the order this process made them. Its construction
// does nothing here (the owner builds the instance); its end tells the owner this node's
// handles are gone. When the owner dies and the creator re-creates the actor on another node,
// the stand-in stays (so handles keep working): calls whose turn comes while the restart is
// under way wait, then go to the new owner.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "weft/detail/actor_base.hpp"

namespace weft::cluster {

struct node_handle;

/// A stand-in for the actor `id` living on node `owner`.
class actor_proxy final : public detail::actor_base {
 public:
  /// A stand-in of type `type` (the actor's C++ type) named by `options` (name, namespace).
  actor_proxy(detail::runtime_core* core, actor_options options, const std::type_info& type,
              std::shared_ptr<node_handle> node, std::string owner, std::string id);
  ~actor_proxy() override;

  /// The node the actor lives on (it changes when the actor is restarted elsewhere).
  std::string owner() const;
  /// The actor's id in the cluster.
  const std::string& id() const noexcept { return id_; }

  /// Records that this process spawned the actor (it does not follow the actor by name when
  /// its node dies: it re-creates it or lets it die). Before the stand-in is shared.
  void mark_spawned_here() noexcept { spawned_here_ = true; }
  /// True when this process spawned the actor.
  bool spawned_here() const noexcept { return spawned_here_; }

  /// Asks the owner to kill the actor, then dies here at once.
  void kill(const std::string& why, bool expected) override;
  /// The owner reported the actor dead (or its node gone): dies with `message`, and does not
  /// tell the owner it lets go. A call held during a restart fails with it.
  void owner_ended(const std::string& message);

  /// The owner died and the actor is being re-created elsewhere: the call whose turn comes
  /// meanwhile is held. False if a restart is under way already.
  bool begin_restart();
  /// True while a restart is under way.
  bool restarting() const;
  /// The actor now lives on `owner` (counted as a restart): calls go there. Returns the call
  /// held meanwhile, for resume(), or nullptr.
  detail::task_base* finish_restart(std::string owner);
  /// The restart was called off (the owner lives after all): calls go to it again. Returns
  /// the call held meanwhile, for resume(), or nullptr.
  detail::task_base* cancel_restart();
  /// Holds `call` (already claimed for sending) if a restart is under way; false otherwise.
  bool hold_if_restarting(detail::task_base& call);
  /// Sends `call` (already claimed for sending, as deliver() does) to the owner, or holds it
  /// while a restart is under way.
  void resume(detail::task_base& call) noexcept;

 private:
  void construct() override { instance_ = this; }
  void destroy() noexcept override;
  void deliver(detail::task_base& call) noexcept override;

  const std::shared_ptr<node_handle> node_;
  const std::string id_;
  std::atomic<bool> released_{false};
  bool spawned_here_ = false;
  mutable std::mutex owner_mutex_;
  std::string owner_;                  // guarded by owner_mutex_
  bool restarting_ = false;            // guarded by owner_mutex_
  detail::task_base* held_ = nullptr;  // guarded by owner_mutex_
};

/// Creates a stand-in (its constructor call queued, enrolled with its runtime) and returns it
/// with one reference and one handle for the caller.
actor_proxy* make_proxy(detail::runtime_core& core, const actor_options& options,
                        const std::type_info& type, std::shared_ptr<node_handle> node,
                        std::string owner, std::string id);

}  // namespace weft::cluster
