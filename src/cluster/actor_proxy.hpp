#pragma once
// The local stand-in of an actor that lives on another node. It is an actor like any other to
// the program (its handles, its mailbox, its death), but its turn-by-turn delivery sends each
// call to the owning node instead of running it: one call at a time, in mailbox order, on one
// connection, so the owner receives them in the order this process made them. Its construction
// does nothing here (the owner builds the instance); its end tells the owner this node's
// handles are gone.

#include <atomic>
#include <memory>
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

  /// The node the actor lives on.
  const std::string& owner() const noexcept { return owner_; }
  /// The actor's id in the cluster.
  const std::string& id() const noexcept { return id_; }

  /// Asks the owner to kill the actor, then dies here at once.
  void kill(const std::string& why, bool expected) override;
  /// The owner reported the actor dead (or its node gone): dies with `message`, and does not
  /// tell the owner it lets go.
  void owner_ended(const std::string& message);

 private:
  void construct() override { instance_ = this; }
  void destroy() noexcept override;
  void deliver(detail::task_base& call) noexcept override;

  const std::shared_ptr<node_handle> node_;
  const std::string owner_;
  const std::string id_;
  std::atomic<bool> released_{false};
};

/// Creates a stand-in (its constructor call queued, enrolled with its runtime) and returns it
/// with one reference and one handle for the caller.
actor_proxy* make_proxy(detail::runtime_core& core, const actor_options& options,
                        const std::type_info& type, std::shared_ptr<node_handle> node,
                        std::string owner, std::string id);

}  // namespace weft::cluster
