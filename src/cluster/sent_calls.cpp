// The calls in flight to other nodes.

#include "sent_calls.hpp"

#include "connection.hpp"

namespace weft::cluster {

bool sent_calls::add(std::uint64_t id, sent_call call, const std::atomic<bool>& stopped,
                     const connection& via) {
  std::lock_guard lock(mutex_);
  if (stopped.load() || via.has_closed()) return false;
  view_.count(call.node, call.resources, true);
  calls_.emplace(id, std::move(call));
  return true;
}

std::optional<sent_call> sent_calls::take(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  auto found = calls_.find(id);
  if (found == calls_.end()) return std::nullopt;
  view_.count(found->second.node, found->second.resources, false);
  sent_call call = std::move(found->second);
  calls_.erase(found);
  return call;
}

std::vector<sent_call> sent_calls::take_where(const std::function<bool(const sent_call&)>& match) {
  std::vector<sent_call> taken;
  std::lock_guard lock(mutex_);
  for (auto it = calls_.begin(); it != calls_.end();) {
    if (match(it->second)) {
      view_.count(it->second.node, it->second.resources, false);
      taken.push_back(std::move(it->second));
      it = calls_.erase(it);
    } else {
      ++it;
    }
  }
  return taken;
}

bool sent_calls::add_hold(std::uint64_t id, std::uint64_t hold) {
  std::lock_guard lock(mutex_);
  auto found = calls_.find(id);
  if (found == calls_.end()) return false;
  found->second.left.holds.push_back(hold);
  return true;
}

}  // namespace weft::cluster
