// Resource accounting and the FIFO queue of tasks waiting for resources.

#include "resource_pool.hpp"

#include <fmt/core.h>

#include <string>

#include "weft/detail/task.hpp"
#include "weft/errors.hpp"

namespace weft::detail {
namespace {
std::string describe(const resource_map& m) {
  if (m.empty()) return "none";
  std::string out;
  for (const auto& [name, count] : m) {
    if (!out.empty()) out += ",";
    out += fmt::format("{}={}", name, count);
  }
  return out;
}
}  // namespace

void resource_pool::validate(const resource_map& request, const std::string& who) const {
  for (const auto& [name, amount] : request) {
    if (amount <= 0) {
      throw error(fmt::format("{}: resource request {}={} must be positive", who, name, amount));
    }
    auto it = capacity_.find(name);
    if (it == capacity_.end()) {
      throw error(fmt::format(
          "{} needs resource '{}', which this runtime does not have (capacity: {}); add "
          "it to config.resources or WEFT_RESOURCES",
          who, name, describe(capacity_)));
    }
    if (amount > it->second) {
      throw error(
          fmt::format("{} needs {}={} but the runtime's capacity is {}={}; it could never run", who,
                      name, amount, name, it->second));
    }
  }
}

bool resource_pool::fits(const resource_map& request) const {
  for (const auto& [name, amount] : request) {
    if (free_.at(name) < amount) return false;
  }
  return true;
}

void resource_pool::take(const resource_map& request) {
  for (const auto& [name, amount] : request)
    free_[name] -= amount;
}

bool resource_pool::acquire_or_park(task_base& task) {
  std::lock_guard lock(mutex_);
  const resource_map& request = task.extras_->resources;
  if (parked_.empty() && fits(request)) {
    take(request);
    task.holds_resources_ = true;
    return true;
  }
  parked_.push_back(&task);
  return false;
}

std::vector<task_base*> resource_pool::release(task_base& task) {
  task.holds_resources_ = false;
  return release(task.extras_->resources);
}

std::vector<task_base*> resource_pool::release(const resource_map& held) {
  std::vector<task_base*> runnable;
  std::lock_guard lock(mutex_);
  for (const auto& [name, amount] : held)
    free_[name] += amount;
  while (!parked_.empty() && fits(parked_.front()->extras_->resources)) {
    task_base* next = parked_.front();
    parked_.pop_front();
    take(next->extras_->resources);
    next->holds_resources_ = true;
    runnable.push_back(next);
  }
  return runnable;
}

std::vector<task_base*> resource_pool::take_parked() {
  std::lock_guard lock(mutex_);
  std::vector<task_base*> out(parked_.begin(), parked_.end());
  parked_.clear();
  return out;
}

}  // namespace weft::detail
