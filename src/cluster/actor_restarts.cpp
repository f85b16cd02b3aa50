// The actors a creator re-creates elsewhere when their node dies.

#include "actor_restarts.hpp"

#include "actor_proxy.hpp"

namespace weft::cluster {

void actor_restarts::keep(kept_actor actor) {
  std::lock_guard lock(mutex_);
  const std::string id = actor.order.id;
  kept_[id] = std::move(actor);
}

void actor_restarts::forget(const std::string& id, const actor_proxy* proxy) noexcept {
  std::lock_guard lock(mutex_);
  auto found = kept_.find(id);
  if (found != kept_.end() && found->second.proxy == proxy) kept_.erase(found);
}

std::vector<std::pair<std::string, actor_proxy*>> actor_restarts::begin_for(
    const std::string& node) {
  std::vector<std::pair<std::string, actor_proxy*>> ids;
  std::lock_guard lock(mutex_);
  for (auto& [id, actor] : kept_) {
    if (actor.node != node || !actor.proxy->try_retain()) continue;
    if (actor.proxy->begin_restart()) {
      ids.emplace_back(id, actor.proxy);
    } else {
      actor.proxy->release();  // a job is restarting it already (and holds its reference)
    }
  }
  return ids;
}

bool actor_restarts::park(sent_call& call) {
  std::lock_guard lock(mutex_);
  for (auto& [id, actor] : kept_) {
    if (static_cast<const detail::actor_base*>(actor.proxy) != call.task->mailbox()) continue;
    if (!actor.proxy->restarting()) return false;
    parked_[id].push_back(std::move(call));
    return true;
  }
  return false;
}

std::optional<kept_actor> actor_restarts::find(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto found = kept_.find(id);
  if (found == kept_.end()) return std::nullopt;
  return found->second;
}

std::vector<sent_call> actor_restarts::restarted(const std::string& id, const std::string& node,
                                                 int restarts_left) {
  std::lock_guard lock(mutex_);
  if (auto found = kept_.find(id); found != kept_.end()) {
    found->second.node = node;
    found->second.restarts_left = restarts_left;
    found->second.order.max_restarts = restarts_left;
  }
  std::vector<sent_call> calls = std::move(parked_[id]);
  parked_.erase(id);
  return calls;
}

std::vector<sent_call> actor_restarts::drop(const std::string& id) {
  std::lock_guard lock(mutex_);
  kept_.erase(id);
  std::vector<sent_call> calls = std::move(parked_[id]);
  parked_.erase(id);
  return calls;
}

void actor_restarts::forget_all() noexcept {
  std::lock_guard lock(mutex_);
  kept_.clear();
}

std::vector<sent_call> actor_restarts::take_all_parked() {
  std::vector<sent_call> calls;
  std::lock_guard lock(mutex_);
  for (auto& [id, parked] : parked_)
    for (sent_call& call : parked)
      calls.push_back(std::move(call));
  parked_.clear();
  return calls;
}

}  // namespace weft::cluster
