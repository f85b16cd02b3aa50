#pragma once
/// \file
/// weft::task_options (per task or call) and weft::actor_options (per actor).

#include <exception>
#include <functional>
#include <string>

#include "weft/config.hpp"

namespace weft {

/// How many times, by default, a task is sent again after the node running it died
/// (task_options::node_retries); Ray's default for system failures too.
inline constexpr int default_node_retries = 3;

/// Options for one task, passed as the first argument of `runtime::submit`.
struct task_options {
  /// How many more times to run the task after its callable throws (0 = run once). Only
  /// exceptions accepted by `retry_on` are retried. Must not be negative.
  int retries = 0;

  /// In a cluster: how many more times to send the task to a node after the node it was sent
  /// to died, or the connection to it was lost, before answering. That is not the task's
  /// fault, so `retry_on` does not apply and `retries` is not consumed (each attempt gets the
  /// full `retries` on the node that runs it). Past the limit the ref fails with
  /// weft::node_died. The task may then have run more than once: keep such tasks idempotent.
  /// Does not apply to actor calls, which stay with their actor. Must not be negative.
  int node_retries = default_node_retries;

  /// Decides whether a thrown exception is worth a retry; empty means "retry any exception".
  std::function<bool(std::exception_ptr)> retry_on{};

  /// A name shown in error messages (and traces later); empty means "unnamed".
  std::string name{};

  /// Units of named runtime resources the task holds while it runs, e.g. `{{"gpu", 1}}`. The
  /// task waits (without a thread) until they are free. Each amount must be positive and at
  /// most the runtime's capacity, else `submit` throws.
  resource_map resources{};
};

}  // namespace weft

namespace weft {

/// When an actor ends on its own (besides `runtime::kill` and runtime shutdown).
enum class lifetime {
  /// Destroyed once its last handle is gone and every call queued before that has run.
  owned,
  /// Lives until killed or until the runtime shuts down, whether or not handles remain.
  detached,
};

/// Options for one actor, passed as the first argument of `runtime::spawn`.
struct actor_options {
  /// A name to find the actor by (`runtime::get_actor`); empty means unnamed. Unique among the
  /// live actors of one namespace.
  std::string name{};

  /// The namespace of `name`; empty means the runtime's (`config::namespace_`).
  std::string namespace_{};

  /// How many calls may run at once (at least 1). With 1, calls never overlap and the actor's
  /// state needs no lock; above 1, calls start in order but may overlap.
  int max_concurrency = 1;

  /// How many times the actor may be re-created from its constructor arguments, after its
  /// constructor threw or a method threw an exception accepted by `restart_on`. Not negative.
  int max_restarts = 0;

  /// In a cluster: how many times a call that was running (or sent) when the actor's node died
  /// is sent again, to the instance re-created on another node (max_restarts permitting). 0
  /// (the default) runs each call at most once: such a call fails with actor_died. -1 retries
  /// without limit; above 0 a call may run more than once, so make such methods idempotent.
  int max_task_retries = 0;

  /// Decides whether an exception that escaped a method discards the instance and re-creates
  /// it (while restarts remain). Empty means "never": such an exception fails only its call.
  /// For a throwing constructor, empty means "always retry while restarts remain".
  std::function<bool(std::exception_ptr)> restart_on{};

  /// Whether the actor ends with its last handle (`owned`) or lives on (`detached`).
  weft::lifetime lifetime = weft::lifetime::owned;

  /// Units of named runtime resources the actor holds from its start until it ends. It starts
  /// only once they are free. Each amount must be positive and within the runtime's capacity.
  /// In a cluster, an actor needing resources this node lacks is placed on a node that has them.
  resource_map resources{};

  /// In a cluster, pins the actor to the node with this id ("worker-1", as `weft status` lists
  /// them); empty lets placement decide (DESIGN.md section 5). In-process it is ignored, so the
  /// same program runs either way.
  std::string node{};
};

}  // namespace weft
