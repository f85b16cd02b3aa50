#pragma once
// Named resource capacities of a runtime (e.g. gpu=2) and the queue of tasks waiting for them.
// Waiting tasks hold no thread: they are parked here and scheduled when a release frees enough.
// The queue is strictly first-in first-out, so a large request is never starved by small ones.

#include <deque>
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

  /// Takes the task's resources if they are free and nobody is queued before it (returns true),
  /// else queues the task (returns false).
  bool acquire_or_park(task_base& task);

  /// Returns the task's resources and hands them to queued tasks in order; returns the tasks
  /// that now hold their resources and may run.
  std::vector<task_base*> release(task_base& task);
  /// Returns `held` (resources of an actor that ended) and hands them on like release(task).
  std::vector<task_base*> release(const resource_map& held);

  /// Removes and returns every queued task (used at shutdown).
  std::vector<task_base*> take_parked();

 private:
  bool fits(const resource_map& request) const;
  void take(const resource_map& request);

  mutable std::mutex mutex_;
  const resource_map capacity_;
  resource_map free_;
  std::deque<task_base*> parked_;
};

}  // namespace weft::detail
