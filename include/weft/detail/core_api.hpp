#pragma once
/// \file
/// The narrow, non-template interface between header templates and the compiled scheduler in
/// src/core. This is the seam of DESIGN.md section 2: header code hands tasks to a
/// `runtime_core` through these calls and never sees how (or, later, where) they run.

#include <exception>

namespace weft::detail {

class runtime_core;
class task_base;
class actor_base;

/// Adds a reference to the core; cores live as long as their runtime or any task state.
void retain_core(runtime_core* core) noexcept;
/// Drops a reference taken by retain_core.
void release_core(runtime_core* core) noexcept;

/// Adds a reference to an actor (held by each of its calls).
void retain_actor(actor_base* actor) noexcept;
/// Drops a reference taken by retain_actor.
void release_actor(actor_base* actor) noexcept;

/// An actor call's method threw `e` (after its retries): the actor decides, before the error
/// is published, whether it restarts (actor_options::restart_on).
void actor_call_threw(actor_base* actor, const std::exception_ptr& e) noexcept;

/// Registers a new task: validates its options against the runtime (resources, retries),
/// counts it as live and takes the scheduler's reference. Throws weft::error when the runtime
/// is shut down or the options are invalid; nothing is registered then.
void admit_task(runtime_core* core, task_base& task);

/// Called once every dependency of an admitted task is complete: acquires its resources (or
/// parks it until they are free) and schedules it on the runtime's arena.
void task_ready(runtime_core* core, task_base& task) noexcept;

/// Claims and executes a ready, not yet started task on the calling thread (a task of `core`
/// waiting for it). The task's own scheduled run later only finishes its bookkeeping. Returns
/// false when the task was already claimed, cancelled, or the runtime is stopping.
bool run_inline(runtime_core* core, task_base& task) noexcept;

/// The runtime whose task is running on this thread, or nullptr outside weft tasks.
runtime_core* current_core() noexcept;

}  // namespace weft::detail
