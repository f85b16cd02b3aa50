#pragma once
// Named resource capacities of a runtime (e.g. gpu=2) and the queue of tasks waiting for them.
// Waiting tasks hold no thread: they are parked here and scheduled when a release frees enough.
//
// Fairness is per resource: a request waits only behind earlier waiting requests that name one
// of the resources it names. So a request for {gpu} is never held up by one waiting for {cpu},
// and a large request ({gpu: 4}) is never starved by smaller ones for the same resource, which
// queue behind it instead of taking the units it waits for.

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "weft/config.hpp"

namespace weft::detail {

class task_base;

/// Capacity accounting for task_options::resources.
class resource_pool {
 public:
  explicit resource_pool(resource_map capacity) : capacity_(capacity), free_(std::move(capacity)) {}

  /// Throws weft::error if `request` names an unknown resource, asks for a non-positive amount
  /// or more than the capacity; `who` (e.g. "task 'x'") names the requester in the message.
  void validate(const resource_map& request, const std::string& who) const;

  /// Takes the task's resources if they are free and no waiting request names one of them
  /// (returns true), else queues the task (returns false).
  bool acquire_or_park(task_base& task);

  /// Returns the task's resources and hands them to queued tasks in order (each as soon as its
  /// resources are free and no earlier waiting request shares one of them); returns the tasks
  /// that now hold their resources and may run.
  std::vector<task_base*> release(task_base& task);
  /// Returns `held` (resources of an actor that ended) and hands them on like release(task).
  std::vector<task_base*> release(const resource_map& held);

  /// Removes and returns every queued task (used at shutdown).
  std::vector<task_base*> take_parked();

  /// The units of each resource free now (capacity minus what running tasks and actors hold).
  resource_map available() const;
  /// The capacity of each resource.
  const resource_map& capacity() const noexcept { return capacity_; }
  /// What the waiting requests ask for in all, per resource.
  resource_map waiting_demand() const;

 private:
  bool fits(const resource_map& request) const;
  bool waits_behind_others(const resource_map& request) const;
  void take(const resource_map& request);
  void count_waiting(const resource_map& request, int sign);

  mutable std::mutex mutex_;
  const resource_map capacity_;
  resource_map free_;
  std::deque<task_base*> parked_;
  // How many waiting requests name each resource, and the units they ask for in all.
  std::map<std::string, std::int64_t> waiting_requests_;
  resource_map waiting_units_;
};

}  // namespace weft::detail
