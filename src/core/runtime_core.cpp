// The in-process scheduler: admission, readiness, spawning on the TBB arena, completion
// accounting and shutdown.

#include "runtime_core.hpp"

#include <fmt/core.h>
#include <oneapi/tbb/info.h>

#include "log.hpp"
#include "sanitizers.hpp"
#include "weft/bulk_allocator.hpp"
#include "weft/detail/actor_base.hpp"
#include "weft/errors.hpp"

namespace weft::detail {
namespace {
thread_local runtime_core* current = nullptr;

unsigned resolve_threads(const config& cfg) {
  if (cfg.threads != 0) return cfg.threads;
  int n = tbb::info::default_concurrency();
  return n > 0 ? static_cast<unsigned>(n) : 1U;
}
}  // namespace

// Not inlined on purpose: a task may resume on another thread after suspending, and the
// thread-local must be looked up afresh each time, never cached across that call.
[[gnu::noinline]] runtime_core* current_core() noexcept {
  return current;
}
[[gnu::noinline]] void set_current_core(runtime_core* core) noexcept {
  current = core;
}

void retain_core(runtime_core* core) noexcept {
  core->retain();
}
void release_core(runtime_core* core) noexcept {
  core->release();
}
void admit_task(runtime_core* core, task_base& task) {
  core->admit(task);
}
void task_ready(runtime_core* core, task_base& task) noexcept {
  core->ready(task);
}
bool run_inline(runtime_core* core, task_base& task) noexcept {
  return core->run_inline(task);
}
bool routes_remote(const runtime_core* core) noexcept {
  return core->router() != nullptr;
}

namespace {
// The callable handed to TBB for one task. Under TSan its move constructor (which TBB runs
// into the task object it allocated) publishes the closure's final address and the call
// acquires it before reading the members, making TBB's uninstrumented hand-off visible.
struct run_closure {
  runtime_core* core;
  task_base* task;
  void (runtime_core::*body)(task_base&) noexcept;

  run_closure(runtime_core* c, task_base* t, void (runtime_core::*b)(task_base&) noexcept)
      : core(c), task(t), body(b) {}
  run_closure(const run_closure& o) : core(o.core), task(o.task), body(o.body) {
    WEFT_HAPPENS_BEFORE(this);
  }
  run_closure(run_closure&& o) noexcept : core(o.core), task(o.task), body(o.body) {
    WEFT_HAPPENS_BEFORE(this);
  }
  run_closure& operator=(const run_closure&) = delete;
  void operator()() const {
    WEFT_HAPPENS_AFTER(const_cast<run_closure*>(this));
    (core->*body)(*task);
  }
};

// The callable handed to TBB for an actor's drain, annotated like run_closure.
// Runs internal background work (a spill) and ends its unit of work.
struct background_closure {
  runtime_core* core;
  void (*fn)(void*);
  void* arg;

  background_closure(runtime_core* c, void (*f)(void*), void* a) : core(c), fn(f), arg(a) {}
  background_closure(const background_closure& o) : core(o.core), fn(o.fn), arg(o.arg) {
    WEFT_HAPPENS_BEFORE(this);
  }
  background_closure(background_closure&& o) noexcept : core(o.core), fn(o.fn), arg(o.arg) {
    WEFT_HAPPENS_BEFORE(this);
  }
  background_closure& operator=(const background_closure&) = delete;
  void operator()() const {
    WEFT_HAPPENS_AFTER(const_cast<background_closure*>(this));
    fn(arg);
    core->end_work();
  }
};

struct drain_closure {
  runtime_core* core;
  actor_base* actor;

  drain_closure(runtime_core* c, actor_base* a) : core(c), actor(a) {}
  drain_closure(const drain_closure& o) : core(o.core), actor(o.actor) {
    WEFT_HAPPENS_BEFORE(this);
  }
  drain_closure(drain_closure&& o) noexcept : core(o.core), actor(o.actor) {
    WEFT_HAPPENS_BEFORE(this);
  }
  drain_closure& operator=(const drain_closure&) = delete;
  void operator()() const {
    WEFT_HAPPENS_AFTER(const_cast<drain_closure*>(this));
    core->run_drain(*actor);
  }
};
}  // namespace

runtime_core::runtime_core(const config& cfg)
    : cfg_((cfg.validate(), cfg)),
      threads_(resolve_threads(cfg_)),
      reservation_(std::in_place, threads_),
      // No slot is reserved for external threads: they enqueue work and never join the arena,
      // so every slot goes to a worker.
      arena_(static_cast<int>(threads_), 0),
      resources_(cfg_.resources),
      objects_(new object_arena(cfg_, this)) {
  arena_.initialize();
  if (cfg_.retained_bytes) set_bulk_retained_limit(*cfg_.retained_bytes);
  log(log_level::info, "runtime started: {} threads, namespace '{}'", threads_, cfg_.namespace_);
}

void runtime_core::admit(task_base& task) {
  if (const task_extras* extras = task.extras()) {
    if (extras->retries_left < 0) {
      throw error(fmt::format("task '{}': task_options::retries = {} is negative; use 0 for none",
                              task.name(), extras->retries_left));
    }
    if (extras->node_retries < 0) {
      throw error(fmt::format(
          "task '{}': task_options::node_retries = {} is negative; use 0 to never resend it",
          task.name(), extras->node_retries));
    }
    if (task.needs_resources()) admit_resources(task);
  }
  live_.fetch_add(1, std::memory_order_seq_cst);
  if (stopping_.load(std::memory_order_seq_cst)) {
    if (live_.fetch_sub(1, std::memory_order_acq_rel) == 1) live_.notify_all();
    throw error(fmt::format("submit of task '{}' rejected: the runtime is shut down", task.name()));
  }
  task.result_state().retain();  // the scheduler's reference, dropped in finish()
}

void runtime_core::admit_resources(task_base& task) {
  const std::string who = fmt::format("task '{}'", task.name());
  if (!router_) {
    resources_.validate(task.resources(), who);
    return;
  }
  try {
    resources_.validate(task.resources(), who);
  } catch (const error& e) {
    if (task.remote()) {
      task.mark_needs_remote();  // the router finds a node that has them, or fails the task
      return;
    }
    throw error(fmt::format(
        "{}; another node of the cluster may have them, but only functions registered with "
        "WEFT_REMOTE(fn) (and whose arguments can be sent) can run there",
        e.what()));
  }
}

void runtime_core::ready(task_base& task) noexcept {
  const bool was_cancelled = task.is_cancelled();
  if (was_cancelled && !task.mailbox()) {
    finish(task);
    return;
  }
  if (task.remote() && router_ && !was_cancelled) {
    if (task.dependency_failed()) {
      spawn(task);  // fails with its dependency's error without running: no resources needed
      return;
    }
    if (!stopping() && router_->route(task)) return;
    if (task.needs_remote()) {  // it cannot run here; the router only refuses while stopping
      task.cancel_with(make_cancelled(
          task, "was cancelled: the runtime shut down before it could be sent to a node"));
      finish(task);
      return;
    }
  }
  if (was_cancelled) {
    resume_parked(task);
    return;
  }
  run_here(task);
}

void runtime_core::run_here(task_base& task) noexcept {
  if (task.needs_resources() && !stopping()) {
    if (!resources_.acquire_or_park(task)) return;  // scheduled by a later release
  }
  resume_parked(task);
}

void runtime_core::resume_parked(task_base& task) noexcept {
  if (task.mailbox())
    task.mailbox()->message_ready(task);  // an actor call runs when its mailbox delivers it
  else
    spawn(task);
}

bool runtime_core::begin_work() noexcept {
  live_.fetch_add(1, std::memory_order_seq_cst);
  if (terminated_.load(std::memory_order_seq_cst)) {
    end_work();
    return false;
  }
  return true;
}

runtime_core::~runtime_core() {
  objects_->release();
}

bool runtime_core::run_background(void (*fn)(void*), void* arg) noexcept {
  if (!begin_work()) return false;
  arena_.enqueue(group_.defer(background_closure(this, fn, arg)));
  return true;
}

void runtime_core::end_work() noexcept {
  if (live_.fetch_sub(1, std::memory_order_acq_rel) == 1) live_.notify_all();
}

void runtime_core::schedule_drain(actor_base& actor, bool fair) noexcept {
  WEFT_HAPPENS_BEFORE(&actor);
  drain_closure closure(this, &actor);
  if (!fair && current_core() == this) {
    group_.run(std::move(closure));
  } else {
    arena_.enqueue(group_.defer(std::move(closure)));
  }
}

void runtime_core::run_drain(actor_base& actor) noexcept {
  WEFT_HAPPENS_AFTER(&actor);
  set_current_core(this);
  actor.drain();
  set_current_core(nullptr);
}

void runtime_core::release_resources(const resource_map& held) noexcept {
  for (task_base* next : resources_.release(held))
    resume_parked(*next);
}

resource_map runtime_core::spare_resources() const {
  resource_map spare = resources_.available();
  for (const auto& [name, waiting] : resources_.waiting_demand())
    spare[name] -= waiting;
  return spare;
}

void runtime_core::spawn(task_base& task) noexcept {
  WEFT_HAPPENS_BEFORE(&task);
  run_closure closure(this, &task, &runtime_core::run);
  if (current_core() == this) {
    group_.run(std::move(closure));  // local deque of this worker: LIFO, stealable
  } else {
    arena_.enqueue(group_.defer(std::move(closure)));
  }
}

void runtime_core::run(task_base& task) noexcept {
  WEFT_HAPPENS_AFTER(&task);
  set_current_core(this);
  if (stopping()) {
    if (task.mailbox()) {
      // A call already handed out by its mailbox (max_concurrency > 1): it fails the way the
      // actor's queued calls do, since shutdown kills the actor.
      task.mailbox()->kill("the runtime shut down", true);
      task.cancel_with(task.mailbox()->final_error());
    } else {
      task.cancel_with(
          make_cancelled(task, "was cancelled: the runtime shut down before it started"));
    }
  }
  set_current_actor(task.mailbox());
  task.run();  // false when cancelled, or run inline by a waiter: either way it is done
  set_current_actor(nullptr);
  // Whoever ran it (this closure, or a waiter inline), the bookkeeping happens here, once:
  // the task stays counted as live until its scheduled run has come and gone.
  if (task.mailbox())
    task.mailbox()->call_done(task);
  else
    finish(task);
  set_current_core(nullptr);
}

bool runtime_core::run_inline(task_base& task) noexcept {
  if (stopping()) return false;
  actor_base* caller = current_actor();  // a plain task run inline is not part of the actor
  set_current_actor(nullptr);
  const bool ran = task.run();
  set_current_actor(caller);
  return ran;
}

void runtime_core::finish(task_base& task) noexcept {
  state_base& result = task.result_state();
  if (task.is_cancelled())
    cancelled_.add(1);
  else if (result.ready() && result.failed())
    failed_.add(1);
  else
    completed_.add(1);
  if (task.holds_resources()) {
    for (task_base* next : resources_.release(task))
      resume_parked(*next);
  }
  // The task's state holds a reference to this core, so the notify below is safe even if
  // shutdown returns and the runtime drops its own reference meanwhile.
  if (live_.fetch_sub(1, std::memory_order_acq_rel) == 1) live_.notify_all();
  result.release();
}

void runtime_core::shutdown() {
  if (current_core() == this) {
    throw error(
        "runtime::shutdown() called from one of the runtime's own tasks would wait for itself; "
        "call it from outside the runtime (e.g. from main)");
  }
  std::lock_guard lock(shutdown_mutex_);
  if (shut_down_) return;
  stopping_.store(true, std::memory_order_seq_cst);
  if (metrics_) metrics_->stop();
  if (router_) router_->stop();
  for (task_base* task : resources_.take_parked()) {
    task->cancel_with(
        make_cancelled(*task, "was cancelled: the runtime shut down before it started"));
    if (task->mailbox())
      task->mailbox()->message_ready(*task);
    else
      finish(*task);
  }
  for (actor_base* actor : actors_.close()) {
    actor->kill("the runtime shut down", true);
    actor->release();
  }
  // Wait until nothing is live; then refuse new work and wait for what slipped in between.
  auto wait_idle = [this] {
    for (std::uint64_t n = live_.load(std::memory_order_seq_cst); n != 0;
         n = live_.load(std::memory_order_seq_cst)) {
      live_.wait(n, std::memory_order_seq_cst);
    }
  };
  wait_idle();
  terminated_.store(true, std::memory_order_seq_cst);
  wait_idle();
  objects_->detach();
  arena_.execute([this] { group_.wait(); });
  timer_.stop();
  arena_.terminate();
  reservation_.reset();  // the workers may serve other runtimes now
  shut_down_ = true;
  runtime_stats s = stats();
  log(log_level::info, "runtime shut down: {} completed, {} failed, {} cancelled", s.completed,
      s.failed, s.cancelled);
}

runtime_stats runtime_core::stats() const noexcept {
  runtime_stats s;
  s.live = live_.load(std::memory_order_relaxed);
  s.completed = completed_.sum();
  s.failed = failed_.sum();
  s.cancelled = cancelled_.sum();
  s.retried = retried_.sum();
  s.actors = actors_.size();
  s.submitted = s.live + s.completed + s.failed + s.cancelled;
  return s;
}

bool task_base::should_retry(const std::exception_ptr& e) noexcept {
  if (!extras_ || extras_->retries_left <= 0 || core_->stopping()) return false;
  if (extras_->retry_on) {
    try {
      if (!extras_->retry_on(e)) return false;
    } catch (...) {
      log(log_level::warn, "task '{}': retry_on threw; not retrying", name());
      return false;
    }
  }
  --extras_->retries_left;
  core_->count_retry();
  log(log_level::debug, "task '{}' threw; retrying ({} retries left)", name(),
      extras_->retries_left);
  return true;
}

}  // namespace weft::detail
