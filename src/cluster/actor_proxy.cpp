// The stand-in of a remote actor: delivery by forwarding, kill and release towards the owner.

#include "actor_proxy.hpp"

#include <fmt/core.h>

#include <utility>

#include "node.hpp"
#include "weft/detail/actor_cell.hpp"
#include "weft/errors.hpp"

namespace weft::cluster {

actor_proxy::actor_proxy(detail::runtime_core* core, actor_options options,
                         const std::type_info& type, std::shared_ptr<node_handle> node,
                         std::string owner, std::string id)
    : actor_base(core, std::move(options), type, true),
      node_(std::move(node)),
      id_(std::move(id)),
      owner_(std::move(owner)) {}

actor_proxy::~actor_proxy() {
  std::lock_guard lock(node_->mutex);
  if (node_->self) node_->self->forget_proxy(id_, this);
}

std::string actor_proxy::owner() const {
  std::lock_guard lock(owner_mutex_);
  return owner_;
}

void actor_proxy::kill(const std::string& why, bool expected) {
  if (!expected) {  // runtime shutdown only lets go (destroy); an explicit kill reaches the owner
    std::lock_guard lock(node_->mutex);
    if (node_->self) node_->self->kill_remote_actor(owner(), id_);
  }
  actor_base::kill(why, expected);
}

void actor_proxy::owner_ended(const std::string& message) {
  released_.store(true, std::memory_order_release);
  detail::task_base* held = nullptr;
  {
    std::lock_guard lock(owner_mutex_);
    restarting_ = false;
    held = std::exchange(held_, nullptr);
  }
  end_with(message);
  if (held) {
    held->fail_sent(std::make_exception_ptr(weft::actor_died(message)));
    finish_forwarded(*held);
  }
}

bool actor_proxy::begin_restart() {
  std::lock_guard lock(owner_mutex_);
  if (restarting_) return false;
  restarting_ = true;
  return true;
}

bool actor_proxy::restarting() const {
  std::lock_guard lock(owner_mutex_);
  return restarting_;
}

detail::task_base* actor_proxy::finish_restart(std::string owner) {
  std::lock_guard lock(owner_mutex_);
  owner_ = std::move(owner);
  restarting_ = false;
  count_restart();
  return std::exchange(held_, nullptr);
}

void actor_proxy::destroy() noexcept {
  instance_ = nullptr;
  if (released_.exchange(true, std::memory_order_acq_rel)) return;
  std::lock_guard lock(node_->mutex);
  if (node_->self) node_->self->release_remote_actor(owner(), id_);
}

detail::task_base* actor_proxy::cancel_restart() {
  std::lock_guard lock(owner_mutex_);
  restarting_ = false;
  return std::exchange(held_, nullptr);
}

bool actor_proxy::hold_if_restarting(detail::task_base& call) {
  std::lock_guard lock(owner_mutex_);
  if (!restarting_) return false;
  held_ = &call;
  return true;
}

void actor_proxy::deliver(detail::task_base& call) noexcept {
  if (!call.hand_to_remote()) {
    finish_forwarded(call);  // cancelled before its turn
    return;
  }
  if (std::exception_ptr own = call.dependency_error()) {
    call.fail_sent(std::move(own));  // fails with its dependency's error, sending nothing
    finish_forwarded(call);
    return;
  }
  resume(call);
}

void actor_proxy::resume(detail::task_base& call) noexcept {
  {
    std::lock_guard lock(owner_mutex_);
    if (restarting_) {
      held_ = &call;  // sent once the actor lives again
      return;
    }
  }
  std::exception_ptr failed;
  {
    std::lock_guard lock(node_->mutex);
    if (node_->self) {
      failed = node_->self->forward_call(*this, call);
    } else {
      failed = std::make_exception_ptr(cancelled_error(
          fmt::format("call to {} was cancelled: the runtime shut down", describe())));
    }
  }
  if (failed) {
    call.fail_sent(std::move(failed));
    finish_forwarded(call);
  }
}

actor_proxy* make_proxy(detail::runtime_core& core, const actor_options& options,
                        const std::type_info& type, std::shared_ptr<node_handle> node,
                        std::string owner, std::string id) {
  actor_options own;  // the stand-in itself: one call at a time, no restarts, no resources
  own.name = options.name;
  own.namespace_ = options.namespace_;
  auto* proxy = new actor_proxy(&core, std::move(own), type, std::move(node), std::move(owner),
                                std::move(id));
  try {
    task_options opts;
    opts.name = proxy->describe() + " stand-in";
    auto owner_ref = detail::message_factory<void, detail::constructor_call>::post(
        *proxy, &opts, nullptr, detail::constructor_call{proxy});
    (void)owner_ref;
    proxy->enroll(false);
  } catch (...) {
    proxy->abandon();
    proxy->drop_handle();
    proxy->release();
    throw;
  }
  return proxy;
}

}  // namespace weft::cluster
