#pragma once
// The in-process executor behind weft::runtime: one tbb::task_arena, the live-task accounting
// that makes shutdown exact, resource admission and the timer for timed waits in tasks.
// Header code reaches it only through weft/detail/core_api.hpp.

#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>

#include "parallelism.hpp"
#include "resource_pool.hpp"
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
  /// See run_inline in core_api.hpp.
  bool run_inline(task_base& task) noexcept;
  /// See runtime::shutdown.
  void shutdown();

  bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }
  unsigned threads() const noexcept { return threads_; }
  const config& settings() const noexcept { return cfg_; }
  runtime_stats stats() const noexcept;
  /// Counts one retry attempt (for stats).
  void count_retry() noexcept { retried_.fetch_add(1, std::memory_order_relaxed); }
  /// The timer used to wake tasks suspended with a deadline.
  timer& timers() noexcept { return timer_; }

 private:
  ~runtime_core() = default;
  void spawn(task_base& task) noexcept;

 public:
  /// Runs a scheduled task (called on a worker by the closure spawn() hands to TBB).
  void run(task_base& task) noexcept;

 private:
  void finish(task_base& task) noexcept;

  const config cfg_;
  const unsigned threads_;
  std::optional<parallelism_reservation> reservation_;  // released at shutdown
  tbb::task_arena arena_;
  tbb::task_group group_;
  resource_pool resources_;
  timer timer_;
  std::mutex shutdown_mutex_;
  bool shut_down_ = false;

  std::atomic<std::size_t> refs_{1};
  std::atomic<bool> stopping_{false};
  alignas(64) std::atomic<std::uint64_t> live_{0};
  alignas(64) std::atomic<std::uint64_t> completed_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> cancelled_{0};
  std::atomic<std::uint64_t> retried_{0};
};

}  // namespace weft::detail
