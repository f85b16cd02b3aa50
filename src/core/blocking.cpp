// Waiting for states. Outside weft tasks a waiter blocks its thread; inside a task it suspends
// the task with tbb::task::suspend, so the worker thread goes on running other tasks and the
// pool cannot deadlock on get() (DESIGN.md section 3). Timed waits inside tasks are woken by
// the runtime's timer thread.

#include <oneapi/tbb/task.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <vector>

#include <fmt/core.h>

#include "log.hpp"
#include "runtime_core.hpp"
#include "sanitizers.hpp"
#include "weft/detail/actor_base.hpp"
#include "weft/detail/state.hpp"
#include "weft/errors.hpp"
#include "weft/runtime.hpp"

namespace weft::detail {
namespace {

// Resumes a task suspended in state_base::wait(); lives on the suspended task's stack.
struct resume_link final : continuation {
  tbb::task::suspend_point tag{};
  void on_ready() noexcept override {
    // Read before the release: once resumed, the task may return and reuse this stack slot
    // while resume() still runs here.
    const tbb::task::suspend_point point = tag;
    WEFT_HAPPENS_BEFORE(this);
    tbb::task::resume(point);
  }
};

// A wait for `needed` of several states, with an optional deadline. Reference counted: one
// reference per subscribed link, one for the waiter, one for a pending timer callback.
class multi_wait {
 public:
  multi_wait(std::size_t inputs, std::size_t needed, bool in_task)
      : refs_(static_cast<std::int64_t>(inputs) + 1),
        needed_(static_cast<std::int64_t>(needed)),
        in_task_(in_task),
        links_(inputs) {
    for (auto& l : links_)
      l.owner_ = this;
  }

  // Subscribes to every state; states already complete count at once.
  void arm(const std::vector<state_base*>& states) noexcept {
    for (std::size_t i = 0; i < states.size(); ++i) {
      if (!states[i]->subscribe(&links_[i])) links_[i].on_ready();
    }
  }
  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void drop() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  // Wakes the waiter, once, whoever calls first (enough arrivals or the deadline).
  void signal() noexcept {
    if (signalled_.exchange(true, std::memory_order_acq_rel)) return;
    if (in_task_) {
      WEFT_HAPPENS_BEFORE(this);
      tbb::task::resume(tag_);
    } else {
      std::lock_guard lock(mutex_);
      done_ = true;
      cv_.notify_all();
    }
  }
  // Blocks the calling thread until signalled or `deadline` (if any) passes.
  template <class Deadline>
  void block(const Deadline* deadline) {
    std::unique_lock lock(mutex_);
    if (deadline)
      cv_.wait_until(lock, *deadline, [this] { return done_; });
    else
      cv_.wait(lock, [this] { return done_; });
  }

  tbb::task::suspend_point tag_{};

 private:
  struct link final : continuation {
    multi_wait* owner_ = nullptr;
    void on_ready() noexcept override {
      multi_wait* w = owner_;
      if (w->needed_.fetch_sub(1, std::memory_order_acq_rel) == 1) w->signal();
      w->drop();
    }
  };

  std::atomic<std::int64_t> refs_;
  std::atomic<std::int64_t> needed_;
  std::atomic<bool> signalled_{false};
  const bool in_task_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::vector<link> links_;
};

// True when `s` is a pending call queued on the max_concurrency-1 actor running on this
// thread: it sits behind the call that would wait for it, so that wait could never end.
bool is_own_queued_call(const state_base& s) noexcept {
  actor_base* actor = current_actor();
  return actor != nullptr && s.mailbox_of() == actor && actor->options().max_concurrency == 1 &&
         !s.ready();
}

[[noreturn]] void refuse_waiting_for_itself() {
  throw error(fmt::format(
      "{} waits for the result of a call to itself; the call is queued behind the one waiting "
      "for it and would never run. Use then(), pass the ref to another call, or raise "
      "actor_options::max_concurrency",
      current_actor()->describe()));
}

// Tasks suspended in a wait hold a coroutine stack each (a few MiB of address space and two
// memory mappings). Past this many at once in the process, oneTBB's coroutine creation runs
// into the kernel's mapping limit (vm.max_map_count) and hangs or crashes; further waits then
// block their worker thread instead, like a wait outside the runtime.
constexpr int max_suspended_tasks = 4096;
std::atomic<int> suspended_tasks{0};
std::atomic<bool> warned_suspend_limit{false};

// Takes a suspension slot; false (with a warning, once) when all are in use.
bool take_suspension_slot() noexcept {
  if (suspended_tasks.fetch_add(1, std::memory_order_relaxed) < max_suspended_tasks) return true;
  suspended_tasks.fetch_sub(1, std::memory_order_relaxed);
  if (!warned_suspend_limit.exchange(true, std::memory_order_relaxed)) {
    log(log_level::warn,
        "more than {} tasks are waiting in get() at once; further waits block their worker "
        "thread (fewer tasks then run in parallel). Pass refs as task arguments instead of "
        "waiting inside tasks",
        max_suspended_tasks);
  }
  return false;
}
void give_back_suspension_slot() noexcept {
  suspended_tasks.fetch_sub(1, std::memory_order_relaxed);
}

std::size_t count_ready(const std::vector<state_base*>& states) noexcept {
  std::size_t n = 0;
  for (auto* s : states)
    n += s->ready() ? 1 : 0;
  return n;
}

}  // namespace

void state_base::wait() const {
  if (ready()) return;
  runtime_core* core = current_core();
  if (core != nullptr) {
    if (is_own_queued_call(*this)) refuse_waiting_for_itself();
    // A task waiting for a task that has not started yet runs it right here (like a
    // function call) instead of suspending: no coroutine stack, no context switch.
    if (const_cast<state_base*>(this)->try_run_inline(core) && ready()) return;
  }
  if (core != nullptr && take_suspension_slot()) {
    actor_base* actor = current_actor();
    resume_link link;
    tbb::task::suspend([&](tbb::task::suspend_point tag) {
      link.tag = tag;
      WEFT_HAPPENS_BEFORE(&link);  // what this task wrote before suspending, for its resumer
      if (!subscribe(&link)) {
        WEFT_HAPPENS_BEFORE(&link);  // the failed subscribe read the state too
        tbb::task::resume(tag);
      }
    });
    WEFT_HAPPENS_AFTER(&link);
    set_current_core(core);
    set_current_actor(actor);
    give_back_suspension_slot();
    return;
  }
  int s = status_.load(std::memory_order_acquire);
  while ((s & outcome_mask) == pending) {
    if (!(s & sleeper) &&
        !status_.compare_exchange_weak(s, s | sleeper, std::memory_order_acq_rel)) {
      continue;  // s was reloaded: completed meanwhile, or retry setting the flag
    }
    status_.wait(s | sleeper, std::memory_order_acquire);
    s = status_.load(std::memory_order_acquire);
  }
}

bool state_base::wait_for(std::chrono::nanoseconds d) const {
  std::vector<state_base*> one{const_cast<state_base*>(this)};
  return await_ready(one, 1, d) == 1;
}

std::size_t await_ready(const std::vector<state_base*>& states, std::size_t num,
                        std::optional<std::chrono::nanoseconds> timeout) {
  std::size_t now_ready = count_ready(states);
  if (now_ready >= num) return now_ready;
  if (timeout && timeout->count() <= 0) return now_ready;
  const auto deadline = timeout ? timer::clock::now() + *timeout : timer::clock::time_point{};

  runtime_core* core = current_core();
  actor_base* actor = current_actor();
  if (core != nullptr && !timeout) {
    std::size_t can_complete = 0;
    for (auto* s : states)
      can_complete += is_own_queued_call(*s) ? 0 : 1;
    if (can_complete < num) refuse_waiting_for_itself();
  }
  // Without a deadline, a single awaited task that has not started runs right here. With a
  // deadline it must not: its run time is unbounded, the wait is not.
  if (core != nullptr && !timeout && states.size() == 1 && states[0]->try_run_inline(core) &&
      states[0]->ready()) {
    return 1;
  }
  const bool suspend = core != nullptr && take_suspension_slot();
  auto* w = new multi_wait(states.size(), num, suspend);
  if (suspend) {
    tbb::task::suspend([&](tbb::task::suspend_point tag) {
      w->tag_ = tag;
      WEFT_HAPPENS_BEFORE(w);
      if (timeout) {
        w->add_ref();
        core->timers().at(deadline, [w] {
          w->signal();
          w->drop();
        });
      }
      w->arm(states);
    });
    WEFT_HAPPENS_AFTER(w);
    set_current_core(core);
    set_current_actor(actor);
    give_back_suspension_slot();
  } else {
    w->arm(states);
    w->block(timeout ? &deadline : nullptr);
  }
  w->drop();
  return count_ready(states);
}

}  // namespace weft::detail
