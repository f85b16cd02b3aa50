#pragma once
// The in-process executor behind weft::runtime: one tbb::task_arena, the live-task accounting
// that makes shutdown exact, resource admission and the timer for timed waits in tasks.
// Header code reaches it only through weft/detail/core_api.hpp.

#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "live_actors.hpp"
#include "metrics_endpoint.hpp"
#include "object_arena.hpp"
#include "parallelism.hpp"
#include "resource_pool.hpp"
#include "sharded_sum.hpp"
#include "task_router.hpp"
#include "timer.hpp"
#include "weft/config.hpp"
#include "weft/detail/task.hpp"
#include "weft/runtime.hpp"

namespace weft::detail {

/// Sets which runtime's task the current thread runs (nullptr: none). Re-set after a
/// suspended task resumes, possibly on another thread.
void set_current_core(runtime_core* core) noexcept;

/// Schedules and runs tasks of one runtime. Reference counted: the runtime object and every
/// task state hold a reference, so refs stay usable after the runtime is destroyed.
class runtime_core {
 public:
  explicit runtime_core(const config& cfg);

  void retain() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  /// See admit_task in core_api.hpp.
  void admit(task_base& task);
  /// See task_ready in core_api.hpp.
  void ready(task_base& task) noexcept;
  /// Runs a ready task on this node without offering it to the router (a task the cluster
  /// took back after the node it was sent to died): once its resources are free, if any.
  void run_here(task_base& task) noexcept;
  /// See run_inline in core_api.hpp.
  bool run_inline(task_base& task) noexcept;
  /// See runtime::shutdown.
  void shutdown();

  /// Counts one unit of internal work (an actor's drain) as live, so shutdown waits for it.
  /// False once the runtime has finished shutting down: nothing may be scheduled any more.
  bool begin_work() noexcept;
  /// Ends a unit of work counted by begin_work.
  void end_work() noexcept;
  /// Schedules `actor`'s drain; `fair` puts it behind queued work (a drain that yields).
  void schedule_drain(actor_base& actor, bool fair) noexcept;
  /// Schedules an actor call to run on its own (an actor with max_concurrency > 1).
  void spawn_call(task_base& call) noexcept { spawn(call); }
  /// Bookkeeping of a task that has run or was cancelled: counters, live count, reference.
  void finish(task_base& task) noexcept;
  /// Throws weft::error if `request` cannot be met by this runtime; `who` names the requester.
  void validate_resources(const resource_map& request, const std::string& who) const {
    resources_.validate(request, who);
  }
  /// Returns resources held by an actor and starts what was waiting for them.
  void release_resources(const resource_map& held) noexcept;
  /// The capacity of each named resource.
  const resource_map& resource_capacity() const noexcept { return resources_.capacity(); }
  /// The units of each resource free now.
  resource_map free_resources() const { return resources_.available(); }
  /// The units of each resource free now minus what waiting requests ask for (negative when
  /// more waits than is free): what new work could still take without queueing.
  resource_map spare_resources() const;
  /// The runtime's actors.
  live_actors& actors() noexcept { return actors_; }
  /// The runtime's object arena.
  object_arena& objects() const noexcept { return *objects_; }
  /// Runs `fn(arg)` on the arena as internal work (shutdown waits for it); false once the
  /// runtime has stopped, in which case nothing runs.
  bool run_background(void (*fn)(void*), void* arg) noexcept;

  bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }
  unsigned threads() const noexcept { return threads_; }
  const config& settings() const noexcept { return cfg_; }
  runtime_stats stats() const noexcept;
  /// This runtime's metrics (tasks, actors, arena, resources, and the cluster layer's), then
  /// the application's (weft/metrics.hpp), in the Prometheus text format.
  std::string metrics_text() const;
  /// Serves metrics_text() over HTTP from now on; called once, by the runtime's constructor.
  void set_metrics_endpoint(std::unique_ptr<metrics_endpoint> endpoint) noexcept {
    metrics_ = std::move(endpoint);
  }
  /// The port metrics are served on, 0 when they are not.
  unsigned metrics_port() const noexcept { return metrics_ ? metrics_->port() : 0; }
  /// Tasks submitted and not finished (what stats().live reports), read cheaply.
  std::uint64_t live_tasks() const noexcept { return live_.load(std::memory_order_relaxed); }
  /// Counts one retry attempt (for stats).
  void count_retry() noexcept { retried_.add(1); }
  /// The timer used to wake tasks suspended with a deadline.
  timer& timers() noexcept { return timer_; }
  /// Gives the core its cluster router. Only before the runtime is handed to the program.
  void set_router(std::unique_ptr<task_router> router) noexcept { router_ = std::move(router); }
  /// The cluster router, or nullptr in-process.
  task_router* router() const noexcept { return router_.get(); }

 private:
  ~runtime_core();
  void spawn(task_base& task) noexcept;

 public:
  /// Runs a scheduled task (called on a worker by the closure spawn() hands to TBB).
  void run(task_base& task) noexcept;
  /// Runs an actor's drain (called on a worker by the closure schedule_drain hands to TBB).
  void run_drain(actor_base& actor) noexcept;

 private:
  void resume_parked(task_base& task) noexcept;
  // Validates a task's resources; in a cluster, a registered task whose resources this node
  // lacks is marked needs_remote_ instead of refused.
  void admit_resources(task_base& task);

  const config cfg_;
  const unsigned threads_;
  std::optional<parallelism_reservation> reservation_;  // released at shutdown
  tbb::task_arena arena_;
  tbb::task_group group_;
  resource_pool resources_;
  live_actors actors_;
  object_arena* objects_;  // holds one reference
  timer timer_;
  std::unique_ptr<task_router> router_;  // destroyed with the core, after every task ended
  std::mutex shutdown_mutex_;
  bool shut_down_ = false;

  std::atomic<std::size_t> refs_{1};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> terminated_{false};  // set once nothing may be scheduled any more
  alignas(64) std::atomic<std::uint64_t> live_{0};
  // Outcome counters, per thread (sharded_sum.hpp): many workers finish tasks at once.
  sharded_sum<std::uint64_t> completed_;
  sharded_sum<std::uint64_t> failed_;
  sharded_sum<std::uint64_t> cancelled_;
  sharded_sum<std::uint64_t> retried_;
  std::unique_ptr<metrics_endpoint> metrics_;  // stopped first at shutdown
};

}  // namespace weft::detail
