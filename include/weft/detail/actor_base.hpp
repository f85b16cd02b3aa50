#pragma once
/// \file
/// The type-independent part of an actor, compiled in src/core/actor_base.cpp: its mailbox,
/// the scheduling of its drain task on the runtime's arena, restarts, death and lifetime.
///
/// No thread per actor: the mailbox is a lock-free stack that producers push calls onto and
/// the one drain task at a time reverses into arrival order. An event counter decides who
/// schedules that drain: the first event (a call becoming runnable, a kill, the last handle
/// going) schedules it; the drain runs a bounded batch of calls, re-reads the counter and stops
/// only if no event arrived meanwhile, so nothing is ever left unscheduled.

#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <typeinfo>

#include "weft/detail/task.hpp"
#include "weft/options.hpp"

namespace weft::detail {

enum class log_level : int;

/// One actor's mailbox and lifecycle; the typed actor_cell<T, ...> adds the instance.
class actor_base {
 public:
  actor_base(const actor_base&) = delete;
  actor_base& operator=(const actor_base&) = delete;

  /// Internal reference count (handles, queued calls, the registry, a scheduled drain).
  void retain() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  /// Takes a reference unless the last one is already gone (the actor is being deleted).
  bool try_retain() noexcept {
    std::uint32_t n = refs_.load(std::memory_order_relaxed);
    do {
      if (n == 0) return false;
    } while (!refs_.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel));
    return true;
  }
  /// Drops a reference taken by retain(); the last one deletes the actor.
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  /// Counts one more user handle (a copy of an existing one).
  void add_handle() noexcept { handles_.fetch_add(1, std::memory_order_relaxed); }
  /// Counts one handle gone; the last one of an `owned` actor lets it end once drained.
  void drop_handle() noexcept;
  /// Counts one more handle for a lookup; fails for an `owned` actor whose handles are all
  /// gone (it is ending) and for an actor that has ended.
  bool try_add_handle() noexcept;

  /// Registers the actor (and its name) with its runtime, after its constructor call was
  /// posted, and lets that call run. With `get_existing`, a live actor of the same name is
  /// returned instead (with a reference and a handle added, after checking its type); else a
  /// duplicate name throws weft::error. Returns nullptr when this actor was registered.
  actor_base* enroll(bool get_existing);
  /// Ends an actor that was not enrolled: its constructor call fails and nothing runs.
  void abandon() noexcept;

  /// Queues an admitted call (which holds a reference to this actor) behind the ones already
  /// queued. It runs once its dependencies are resolved and every earlier call has started.
  /// The first call posted is the constructor call.
  void post(task_base& call) noexcept;

  /// Creates the instance (run by the constructor call): retries a throwing constructor while
  /// restarts remain (and restart_on, if set, accepts the exception); else rethrows.
  void start();

  /// Makes the actor dead with `why`: queued and later calls fail with actor_died. Its running
  /// call (if any) finishes first; then the instance is destroyed on the arena.
  /// `expected` (runtime shutdown) logs at debug level, else at info level.
  virtual void kill(const std::string& why, bool expected);
  /// Makes the actor dead with the complete message `message` (what its actor_died says), as
  /// reported by the node where it lived.
  void end_with(const std::string& message);
  /// The actor_died error calls fail with once the actor has ended for good, or null.
  std::exception_ptr final_error() const;

  /// The runtime this actor runs on.
  runtime_core* core() const noexcept { return core_; }
  /// The actor's name ("" when unnamed).
  const std::string& name() const noexcept { return options_.name; }
  /// The actor's namespace.
  const std::string& name_space() const noexcept { return options_.namespace_; }
  /// The dynamic type of the instance, for checked lookups.
  const std::type_info& type() const noexcept { return type_; }
  /// Calls queued or running now (the load an actor_pool balances).
  std::int64_t load() const noexcept { return load_.load(std::memory_order_relaxed); }
  /// How many times the actor was re-created: after a throwing constructor or a method that
  /// restart_on accepted, or (for a stand-in) on another node after its node died.
  int restarts() const noexcept { return restarted_.load(std::memory_order_relaxed); }
  /// The actor's options, as validated.
  const actor_options& options() const noexcept { return options_; }
  /// How the actor is named in messages: "actor 'name' (Type)" or "unnamed actor (Type)".
  std::string describe() const;

  /// A queued call's dependencies are all resolved (from the runtime's readiness path).
  /// `caller_holds_actor`: the calling thread keeps the actor alive meanwhile (the caller of
  /// call(), holding a handle), which spares a reference count round trip.
  void message_ready(task_base& call, bool caller_holds_actor = false) noexcept;
  /// A method threw `e`: evaluates restart_on and, if it asks for it, schedules a restart
  /// (before any further call starts).
  void note_failure(const std::exception_ptr& e) noexcept;
  /// A call run concurrently (max_concurrency > 1) has finished executing.
  void call_done(task_base& call) noexcept;
  /// The drain task's body; runs on the arena, one at a time per actor.
  void drain() noexcept;

  /// True for the local stand-in of an actor living in another process of the cluster.
  bool is_proxy() const noexcept { return proxy_; }
  /// Completes a call a stand-in forwarded once its result came back (or failed).
  void finish_forwarded(task_base& call) noexcept { finish_call(call); }
  /// Marks the actor as reachable from other nodes: its death is reported to the cluster.
  void mark_exported() noexcept { exported_.store(true, std::memory_order_seq_cst); }

 protected:
  /// `type` is the instance type; `proxy` makes a stand-in for an actor of another process.
  /// Throws weft::error for invalid options.
  actor_base(runtime_core* core, actor_options options, const std::type_info& type,
             bool proxy = false);
  virtual ~actor_base();

  /// Runs a call whose turn has come (max_concurrency 1) and finishes it. A stand-in
  /// overrides it to send the call to the actor's node instead.
  virtual void deliver(task_base& call) noexcept;

  /// Constructs the instance from the stored constructor arguments and sets instance_.
  virtual void construct() = 0;
  /// Destroys the instance (if any) and clears instance_.
  virtual void destroy() noexcept = 0;
  /// Counts one re-creation of the actor (see restarts()).
  void count_restart() noexcept { restarted_.fetch_add(1, std::memory_order_relaxed); }

 public:
  /// The current instance, or nullptr before construction and after destruction.
  void* instance_ = nullptr;

 private:
  task_base* pop() noexcept;
  task_base* peek() noexcept;
  void signal() noexcept;
  bool drain_batch() noexcept;
  void run_constructor(task_base& call) noexcept;
  void restart() noexcept;
  void die(std::string why, log_level level, bool verbatim = false) noexcept;
  void fail_queued() noexcept;
  void let_go(task_base& call) noexcept;
  void finish_call(task_base& call) noexcept;
  void end() noexcept;
  void forget_name() noexcept;

  // Read-mostly: set at spawn, or once when the actor dies.
  runtime_core* const core_;
  actor_options options_;
  const std::type_info& type_;
  const bool proxy_;
  std::atomic<bool> exported_{false};
  std::atomic<bool> dead_{false};
  std::atomic<bool> ended_{false};
  std::atomic<bool> restart_pending_{false};
  std::atomic<bool> registered_{false};
  std::atomic<int> restarted_{0};
  mutable std::mutex death_mutex_;
  std::exception_ptr death_;
  std::string last_failure_;  // what a restart_on exception said, for the log and death

  // Written by every caller (and by the drain): one cache line, apart from the rest.
  alignas(64) std::atomic<task_base*> incoming_{nullptr};  // newest first
  std::atomic<std::uint32_t> events_{0};
  std::atomic<std::uint32_t> refs_{1};
  std::atomic<std::int64_t> load_{0};
  std::atomic<std::int64_t> handles_{1};

  // The drain's own state (and the count of calls running concurrently).
  alignas(64) task_base* queue_head_ = nullptr;  // oldest first
  task_base* queue_tail_ = nullptr;
  task_base* constructor_call_ = nullptr;
  std::atomic<int> running_{0};
  bool holds_resources_ = false;
  int restarts_ = 0;
};

/// The actor whose call runs on this thread, or nullptr.
actor_base* current_actor() noexcept;
/// Sets the actor whose call runs on this thread (restored after a suspended call resumes).
void set_current_actor(actor_base* actor) noexcept;

/// The live actor named `name` in namespace `ns` (nullptr: the runtime's), with a reference
/// and a handle added for the caller. Throws weft::error if there is none or its type is not
/// `type`.
actor_base* find_actor(runtime_core* core, const std::string& name, const std::string* ns,
                       const std::type_info& type);

/// Throws weft::error: per-call resources are not supported (actor_options::resources are).
[[noreturn]] void throw_call_resources(const actor_base& actor);
/// Throws weft::error: a call to an actor of another process that is not a method registered
/// with WEFT_ACTOR.
[[noreturn]] void throw_unregistered_method(const actor_base& actor);
/// Throws weft::error for a call through an empty actor handle.
[[noreturn]] void throw_empty_actor(const char* operation);
/// Throws weft::error: self<T>() outside an actor, or with the wrong T.
[[noreturn]] void throw_bad_self(const std::type_info& wanted);

}  // namespace weft::detail
