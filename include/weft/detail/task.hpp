#pragma once
/// \file
/// Task records: one allocation holding the result state, the callable, its arguments and one
/// waiter link per `ref` argument. A record becomes runnable when its pending count (one per
/// unresolved ref argument, plus one held during submission) drops to zero.

#include <array>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "weft/config.hpp"
#include "weft/detail/core_api.hpp"
#include "weft/detail/remote_function.hpp"
#include "weft/detail/state.hpp"

namespace weft::detail {

class actor_base;

/// Options that most tasks do not use, allocated only when a task has them.
struct task_extras {
  std::string name;
  int retries_left = 0;
  std::function<bool(std::exception_ptr)> retry_on;
  resource_map resources;
};

/// Lifecycle of a task; only `waiting -> running` or `waiting -> cancelled` are contended.
enum task_phase : int { waiting = 0, running = 1, finished = 2, cancelled = 3 };

/// What the scheduler needs from any task, independent of its types.
class task_base {
 public:
  task_base(const task_base&) = delete;
  task_base& operator=(const task_base&) = delete;

  /// One dependency (or the submission guard) resolved.
  void dependency_ready() noexcept {
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) task_ready(core_, *this);
  }
  /// Runs the callable (with retries) and publishes the result. Phase is `running`.
  virtual void execute() noexcept = 0;
  /// Drops the callable and arguments and fails the result with `why`. Phase is `cancelled`.
  virtual void abandon(std::exception_ptr why) noexcept = 0;
  /// The task's result state (for reference counting by the scheduler).
  virtual state_base& result_state() noexcept = 0;

  /// Moves a not-yet-started task to `cancelled` and fails it with `why`; false if it started.
  bool cancel_with(std::exception_ptr why) noexcept {
    int expected = waiting;
    if (!phase_.compare_exchange_strong(expected, cancelled, std::memory_order_acq_rel))
      return false;
    abandon(std::move(why));
    return true;
  }
  /// Consumes one retry if the options allow retrying `e`. Defined in src/core.
  bool should_retry(const std::exception_ptr& e) noexcept;
  /// True when one of the task's ref arguments completed with an error (the task will fail
  /// with it instead of running).
  virtual bool dependency_failed() const noexcept = 0;
  /// The error of the first ref argument that completed with one, or null.
  virtual std::exception_ptr dependency_error() const noexcept = 0;
  /// Encodes the arguments for a remote run of `remote_`'s function (pinning arena objects
  /// among them while the encoding lives); only called for tasks with `remote_` set.
  virtual std::shared_ptr<wire_value> encode_call() = 0;
  /// Completes a task that ran remotely with its encoded result `bytes`; throws
  /// protocol_error if they do not decode (the caller then fails the task).
  virtual void complete_remote(std::span<const std::byte> bytes) = 0;
  /// Completes a task that ran remotely and whose result stays on the node that computed it
  /// (a large value): readers pull it from there on first use.
  virtual void complete_held(std::shared_ptr<remote_object> remote) = 0;
  /// The task's name for messages, or "unnamed".
  const char* name() const noexcept {
    return extras_ && !extras_->name.empty() ? extras_->name.c_str() : "unnamed";
  }

  runtime_core* const core_;
  std::unique_ptr<task_extras> extras_;
  std::atomic<int> pending_;
  std::atomic<int> phase_{waiting};
  /// Link in the resource pool's queue, or in an actor's mailbox for actor calls.
  task_base* next_parked_ = nullptr;
  /// The actor whose mailbox delivers this task (an actor call), or nullptr for a plain task.
  actor_base* mailbox_ = nullptr;
  bool holds_resources_ = false;
  /// The callable itself threw (as opposed to a failed dependency or a cancellation).
  bool threw_ = false;
  /// Set in a cluster for a call of a function registered with WEFT_REMOTE whose arguments can
  /// travel: the cluster may run it on another node.
  const remote_function* remote_ = nullptr;
  /// The task's resources exceed this node's: it can only run on another node.
  bool needs_remote_ = false;
  /// For actor calls: set by whichever comes first of "dependencies resolved" and "the
  /// mailbox let go of it"; the second one finishes the call.
  std::atomic<bool> handoff_{false};

 protected:
  task_base(runtime_core* core, int pending) noexcept : core_(core), pending_(pending) {
    retain_core(core_);
  }
  /// An actor call: it keeps its actor (which keeps the runtime) alive, not the runtime
  /// directly, which spares a shared reference count on the hot path.
  task_base(actor_base* mailbox, runtime_core* core, int pending) noexcept
      : core_(core), pending_(pending), mailbox_(mailbox) {
    retain_actor(mailbox_);
  }
  ~task_base() {
    if (mailbox_)
      release_actor(mailbox_);
    else
      release_core(core_);
  }
};

/// Builds the cancelled_error for a task; defined in src/core.
std::exception_ptr make_cancelled(const task_base& task, const char* why);
/// Throws weft::error for an empty ref passed as argument `index` of task `name`.
[[noreturn]] void throw_empty_argument(std::size_t index);
/// Throws weft::error for a task that returned an empty ref.
[[noreturn]] void throw_empty_returned_ref();

}  // namespace weft::detail
