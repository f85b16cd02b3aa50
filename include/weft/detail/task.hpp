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
#include "weft/options.hpp"

namespace weft::detail {

class actor_base;

/// Options that most tasks do not use, allocated only when a task has them.
struct task_extras {
  std::string name;
  int retries_left = 0;
  std::function<bool(std::exception_ptr)> retry_on;
  resource_map resources;
  int node_retries = default_node_retries;
};

/// What the scheduler needs from any task, independent of its types. The record owns its
/// lifecycle: the scheduler, the actors' mailboxes and the cluster move it through the
/// transitions below and never touch its fields. Only `waiting -> running`,
/// `waiting -> sent` and `waiting -> cancelled` are contended (the first to leave `waiting`
/// wins); every other transition is made by the one party that won.
class task_base {
 public:
  task_base(const task_base&) = delete;
  task_base& operator=(const task_base&) = delete;

  // ---- Transitions ----

  /// Runs a task that has not started: its callable (with retries) publishes the result. False
  /// when it had already left `waiting` (cancelled, run by someone else, or sent).
  bool run() noexcept {
    if (!leave_waiting(phase::running)) return false;
    execute();
    phase_.store(phase::finished, std::memory_order_release);
    return true;
  }
  /// Moves a not-yet-started task to `cancelled` and fails it with `why`; false if it started.
  bool cancel_with(std::exception_ptr why) noexcept {
    if (!leave_waiting(phase::cancelled)) return false;
    abandon(std::move(why));
    return true;
  }
  /// Claims a not-yet-started task for a run on another node; false if it left `waiting`
  /// meanwhile (cancelled). The cluster then ends it with `finish_sent`, `fail_sent` or,
  /// when nothing was sent after all, `take_back`.
  bool hand_to_remote() noexcept { return leave_waiting(phase::sent); }
  /// Returns a task claimed by `hand_to_remote` but never sent to `waiting`, to run here.
  void take_back() noexcept { phase_.store(phase::waiting, std::memory_order_release); }
  /// Ends a sent task whose result has been set from the other node's answer.
  void finish_sent() noexcept { phase_.store(phase::finished, std::memory_order_release); }
  /// Ends a sent task (or one that could not be sent) with the error `why`.
  void fail_sent(std::exception_ptr why) noexcept {
    abandon(std::move(why));
    phase_.store(phase::finished, std::memory_order_release);
  }

  // ---- Dependencies ----

  /// One dependency (or the submission guard) resolved.
  void dependency_ready() noexcept {
    if (resolve_one()) task_ready(core_, *this);
  }
  /// Drops one pending count (a dependency or the submission guard); true when it was the
  /// last, so the caller makes the task ready.
  bool resolve_one() noexcept { return pending_.fetch_sub(1, std::memory_order_acq_rel) == 1; }
  /// True when one of the task's ref arguments completed with an error (the task will fail
  /// with it instead of running).
  virtual bool dependency_failed() const noexcept = 0;
  /// The error of the first ref argument that completed with one, or null.
  virtual std::exception_ptr dependency_error() const noexcept = 0;

  // ---- Actor calls: the hand-off between mailbox and dependencies ----

  /// Marks one of "dependencies resolved" and "the mailbox let go of it"; true for the second,
  /// which finishes the call.
  bool reach_handoff() noexcept { return handoff_.exchange(true, std::memory_order_acq_rel); }
  /// True once either side of the hand-off has been reached.
  bool handoff_reached() const noexcept { return handoff_.load(std::memory_order_acquire); }

  // ---- State ----

  /// True when the task was cancelled before it started.
  bool is_cancelled() const noexcept {
    return phase_.load(std::memory_order_acquire) == phase::cancelled;
  }
  /// True while nobody has started, sent or cancelled the task.
  bool not_started() const noexcept {
    return phase_.load(std::memory_order_acquire) == phase::waiting;
  }
  /// The task's result state (for reference counting by the scheduler).
  virtual state_base& result_state() noexcept = 0;
  /// The runtime the task belongs to.
  runtime_core* core() const noexcept { return core_; }
  /// The actor whose mailbox delivers this task (an actor call), or nullptr for a plain task.
  actor_base* mailbox() const noexcept { return mailbox_; }
  /// The task's name for messages, or "unnamed".
  const char* name() const noexcept {
    return extras_ && !extras_->name.empty() ? extras_->name.c_str() : "unnamed";
  }
  /// The options beyond the defaults (name, retries, resources), or nullptr.
  const task_extras* extras() const noexcept { return extras_.get(); }
  /// Gives the task options beyond the defaults; before it is admitted.
  void set_extras(std::unique_ptr<task_extras> extras) noexcept { extras_ = std::move(extras); }
  /// Consumes one retry if the options allow retrying `e`. Defined in src/core.
  bool should_retry(const std::exception_ptr& e) noexcept;

  // ---- Resources ----

  /// The resources the task asks for (empty for most).
  const resource_map& resources() const noexcept {
    return extras_ ? extras_->resources : no_resources();
  }
  /// True when the task asks for resources.
  bool needs_resources() const noexcept { return extras_ && !extras_->resources.empty(); }
  /// True while the task holds its resources (granted, not yet released).
  bool holds_resources() const noexcept { return holds_resources_; }
  /// Records that the resource pool granted (true) or took back (false) the task's resources.
  void set_holds_resources(bool held) noexcept { holds_resources_ = held; }
  /// The next task in the resource pool's queue or in an actor's mailbox.
  task_base* next_parked() const noexcept { return next_parked_; }
  /// Links the task in front of `next` in a queue.
  void set_next_parked(task_base* next) noexcept { next_parked_ = next; }

  // ---- Cluster ----

  /// The registered function (or method) another node may run this task as, or nullptr: set
  /// in a cluster for a call of a function registered with WEFT_REMOTE whose arguments can
  /// travel.
  const remote_function* remote() const noexcept { return remote_; }
  /// Makes the task runnable on another node as `function`; before it is admitted.
  void set_remote(const remote_function* function) noexcept { remote_ = function; }
  /// True when the task's resources exceed this node's: it can only run on another node.
  bool needs_remote() const noexcept { return needs_remote_; }
  /// Records that only another node can run the task.
  void mark_needs_remote() noexcept { needs_remote_ = true; }
  /// Encodes the arguments for a remote run of `remote()`'s function (pinning arena objects
  /// among them while the encoding lives); only called for tasks with `remote()` set.
  virtual std::shared_ptr<wire_value> encode_call() = 0;
  /// Completes a task that ran remotely with its encoded result `bytes`; throws
  /// protocol_error if they do not decode (the caller then fails the task).
  virtual void complete_remote(std::span<const std::byte> bytes) = 0;
  /// Completes a task that ran remotely and whose result stays on the node that computed it
  /// (a large value): readers pull it from there on first use.
  virtual void complete_held(std::shared_ptr<remote_object> remote) = 0;

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

  /// Runs the callable (with retries) and publishes the result. Phase is `running`.
  virtual void execute() noexcept = 0;
  /// Drops the callable and arguments and fails the result with `why`.
  virtual void abandon(std::exception_ptr why) noexcept = 0;
  /// Counts a dependency that the task does not wait for (resolved elsewhere) as resolved,
  /// during subscription, while the submission guard is held.
  void skip_dependency() noexcept { pending_.fetch_sub(1, std::memory_order_relaxed); }
  /// True when every dependency and the submission guard are resolved.
  bool dependencies_resolved() const noexcept {
    return pending_.load(std::memory_order_acquire) == 0;
  }

 private:
  /// Lifecycle of a task. `sent`: handed to another node, which computes the result.
  enum class phase : int { waiting, running, sent, finished, cancelled };

  bool leave_waiting(phase to) noexcept {
    phase expected = phase::waiting;
    return phase_.compare_exchange_strong(expected, to, std::memory_order_acq_rel);
  }
  static const resource_map& no_resources() noexcept {
    static const resource_map empty;
    return empty;
  }

  runtime_core* const core_;
  std::unique_ptr<task_extras> extras_;
  std::atomic<int> pending_;
  std::atomic<phase> phase_{phase::waiting};
  task_base* next_parked_ = nullptr;
  actor_base* const mailbox_ = nullptr;
  bool holds_resources_ = false;
  const remote_function* remote_ = nullptr;
  bool needs_remote_ = false;
  /// For actor calls: set by whichever comes first of "dependencies resolved" and "the
  /// mailbox let go of it"; the second one finishes the call.
  std::atomic<bool> handoff_{false};
};

/// Builds the cancelled_error for a task; defined in src/core.
std::exception_ptr make_cancelled(const task_base& task, const char* why);
/// Throws weft::error for an empty ref passed as argument `index` of task `name`.
[[noreturn]] void throw_empty_argument(std::size_t index);
/// Throws weft::error for a task that returned an empty ref.
[[noreturn]] void throw_empty_returned_ref();

}  // namespace weft::detail
