// Resource accounting and the FIFO queue of tasks waiting for resources.

#include "resource_pool.hpp"

#include <fmt/core.h>

#include <set>
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

bool resource_pool::waits_behind_others(const resource_map& request) const {
  for (const auto& [name, amount] : request) {
    auto found = waiting_requests_.find(name);
    if (found != waiting_requests_.end() && found->second > 0) return true;
  }
  return false;
}

void resource_pool::take(const resource_map& request) {
  for (const auto& [name, amount] : request)
    free_[name] -= amount;
}

void resource_pool::count_waiting(const resource_map& request, int sign) {
  for (const auto& [name, amount] : request) {
    waiting_requests_[name] += sign;
    waiting_units_[name] += sign * amount;
  }
}

bool resource_pool::acquire_or_park(task_base& task) {
  std::lock_guard lock(mutex_);
  const resource_map& request = task.resources();
  if (!waits_behind_others(request) && fits(request)) {
    take(request);
    task.set_holds_resources(true);
    return true;
  }
  parked_.push_back(&task);
  count_waiting(request, +1);
  return false;
}

std::vector<task_base*> resource_pool::release(task_base& task) {
  task.set_holds_resources(false);
  return release(task.resources());
}

std::vector<task_base*> resource_pool::release(const resource_map& held) {
  std::vector<task_base*> runnable;
  std::lock_guard lock(mutex_);
  for (const auto& [name, amount] : held)
    free_[name] += amount;
  // In queue order: a request starts when its resources are free and no earlier request still
  // waiting names one of them (those it would overtake). Once every resource is named by a
  // request still waiting, nothing further can start: stop there.
  std::set<std::string> blocked;
  std::vector<task_base*> still_waiting;
  while (!parked_.empty()) {
    task_base* next = parked_.front();
    parked_.pop_front();
    const resource_map& request = next->resources();
    bool overtakes = false;
    for (const auto& [name, amount] : request)
      overtakes = overtakes || blocked.count(name) != 0;
    if (!overtakes && fits(request)) {
      take(request);
      count_waiting(request, -1);
      next->set_holds_resources(true);
      runnable.push_back(next);
      continue;
    }
    still_waiting.push_back(next);
    for (const auto& [name, amount] : request)
      blocked.insert(name);
    if (blocked.size() == capacity_.size()) break;
  }
  // Those looked at and left go back in front of the rest, in their order.
  for (auto it = still_waiting.rbegin(); it != still_waiting.rend(); ++it)
    parked_.push_front(*it);
  return runnable;
}

std::vector<task_base*> resource_pool::take_parked() {
  std::lock_guard lock(mutex_);
  std::vector<task_base*> out(parked_.begin(), parked_.end());
  parked_.clear();
  waiting_requests_.clear();
  waiting_units_.clear();
  return out;
}

resource_map resource_pool::available() const {
  std::lock_guard lock(mutex_);
  return free_;
}

resource_map resource_pool::waiting_demand() const {
  std::lock_guard lock(mutex_);
  resource_map out;
  for (const auto& [name, units] : waiting_units_)
    if (units > 0) out.emplace(name, units);
  return out;
}

}  // namespace weft::detail
