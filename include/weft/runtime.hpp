#pragma once
/// \file
/// weft::runtime: the object a program creates to run tasks. It owns one oneTBB task arena.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "weft/actor.hpp"
#include "weft/arena.hpp"
#include "weft/cluster.hpp"
#include "weft/config.hpp"
#include "weft/options.hpp"
#include "weft/ref.hpp"

namespace weft {

/// The outcome of `runtime::wait`: the refs found ready (at most `num`, in input order) and the
/// rest, also in input order.
template <class T>
struct wait_result {
  std::vector<ref<T>> ready;    ///< Complete refs (with a value or an error).
  std::vector<ref<T>> pending;  ///< Refs not returned as ready.
};

/// Counters of a runtime since it started; a snapshot, read without stopping anything.
struct runtime_stats {
  std::uint64_t submitted = 0;  ///< Tasks accepted by submit (including then()).
  std::uint64_t completed = 0;  ///< Tasks whose callable returned.
  std::uint64_t failed = 0;     ///< Tasks that ended with an exception (after their retries).
  std::uint64_t cancelled = 0;  ///< Tasks cancelled before they started (cancel or shutdown).
  std::uint64_t retried = 0;    ///< Extra attempts made because of task_options::retries.
  std::uint64_t live = 0;       ///< Tasks submitted and not yet finished.
  std::uint64_t actors = 0;     ///< Actors spawned and not yet ended.
};

namespace detail {
/// Blocks (or suspends, inside a task) until `num` of `states` are ready or `timeout` passes;
/// returns how many were ready at that moment.
std::size_t await_ready(const std::vector<state_base*>& states, std::size_t num,
                        std::optional<std::chrono::nanoseconds> timeout);
/// Validates the arguments of runtime::wait; throws weft::error naming the bad one.
void check_wait_arguments(std::size_t refs, std::size_t num,
                          std::optional<std::chrono::nanoseconds> timeout);
/// True when the first of A... is actor_options (to pick runtime::spawn's overload).
template <class... A>
struct first_is_actor_options : std::false_type {};
template <class First, class... Rest>
struct first_is_actor_options<First, Rest...>
    : std::is_same<std::remove_cvref_t<First>, actor_options> {};
/// Throws weft::error if `core` cannot take an object of `bytes` now: shut down, or the object
/// cannot be spilled (`spillable` false) and would push the pinned objects over the budget.
void check_put(runtime_core* core, std::size_t bytes, bool spillable, const char* type_name);
/// The arena counters of `core`.
arena_stats arena_stats_of(const runtime_core* core) noexcept;
/// Kills `actor` if it belongs to `core`; else throws weft::error.
void kill_actor(runtime_core* core, actor_base* actor);
}  // namespace detail

/// Runs tasks on its own oneTBB task arena. Thread safe: any thread (including the runtime's
/// own tasks) may submit, wait and cancel concurrently. Destruction calls shutdown().
class runtime {
 public:
  /// Starts a runtime; throws config_error if `cfg` is invalid. In-process (the default:
  /// `cfg.cluster` empty) nothing network-related starts. With `cfg.cluster.address` set it
  /// joins the cluster there (throwing weft::error if the head cannot be reached in time,
  /// auth_error if it refuses the token); as a worker or head with
  /// `cfg.cluster.serve_on_start` (the default) it then serves the cluster and ends the
  /// process when the cluster stops, without returning.
  explicit runtime(const config& cfg = {});
  /// Shuts down (see shutdown()). Refs may outlive the runtime and stay readable.
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Runs `fn(args...)` as a task and returns the ref to its result. Each argument that is a
  /// `ref<U>` is a dependency: the task starts only when it is ready, receives `const U&` (the
  /// shared value, no copy) and fails with the dependency's error instead of running if it
  /// failed. Other arguments are copied or moved into the task. Throws weft::error after
  /// shutdown.
  template <class F, class... A>
  requires(!std::is_same_v<std::remove_cvref_t<F>, task_options>) auto submit(F&& fn, A&&... args) {
    return detail::submit_task(core_, nullptr, std::forward<F>(fn), std::forward<A>(args)...);
  }

  /// Like submit(fn, args...) with per-task options (retries, resources, name). Throws
  /// weft::error for a negative retry count or a resource request the runtime cannot satisfy.
  template <class F, class... A>
  auto submit(const task_options& options, F&& fn, A&&... args) {
    return detail::submit_task(core_, &options, std::forward<F>(fn), std::forward<A>(args)...);
  }

  /// Moves `value` into the object arena (an lvalue is copied: pass std::move(x) to avoid it)
  /// and returns its ref, ready at once. The object is immutable and shared: tasks and actor
  /// calls given the ref receive `const T&` to this one value. It is freed when its last ref
  /// (including refs held by pending tasks) is gone. Over the budget it may be spilled and is
  /// restored on the next read. Throws weft::error after shutdown, or when `value` cannot be
  /// spilled (no cereal serialization) and the objects that cannot be spilled would exceed
  /// the budget; nothing is moved from `value` then.
  template <class T>
  ref<std::decay_t<T>> put(T&& value) {
    using V = std::decay_t<T>;
    static_assert(!detail::is_ref_v<V>, "weft: put() of a ref; pass the ref itself instead");
    const std::size_t bytes = size_of(static_cast<const V&>(value));
    detail::check_put(core_, bytes, detail::spillable_now<V>(), typeid(V).name());
    auto* s = new detail::plain_state<V>();
    detail::state_ptr<detail::state<V>> owner(s);
    s->emplace_value(std::forward<T>(value));
    s->track(core_, bytes);
    s->commit_value();
    return detail::ref_access::make(std::move(owner));
  }

  /// A snapshot of the object arena's counters (objects, bytes in memory and spilled, spills,
  /// restores, ...).
  weft::arena_stats arena_stats() const noexcept { return detail::arena_stats_of(core_); }

  /// Cancels the task behind `r` if it has not started: it completes with cancelled_error, and
  /// so do the tasks that depend on it. Returns false if it already started or finished.
  template <class T>
  bool cancel(const ref<T>& r) {
    auto* s = detail::ref_access::state_of(r);
    return s != nullptr && s->try_cancel();
  }

  /// Waits until `num` of `refs` are complete or `timeout` passes, like Ray's wait: returns at
  /// most `num` complete refs in `ready` and the others in `pending`. `num` must be between 1
  /// and refs.size(); a negative timeout throws weft::error.
  template <class T, class Rep, class Period>
  wait_result<T> wait(std::vector<ref<T>> refs, std::size_t num,
                      std::chrono::duration<Rep, Period> timeout) {
    return wait_impl(std::move(refs), num,
                     std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }

  /// Waits without a deadline until `num` of `refs` (default: all) are complete.
  template <class T>
  wait_result<T> wait(std::vector<ref<T>> refs, std::size_t num = 0) {
    std::size_t n = num == 0 ? refs.size() : num;
    return wait_impl(std::move(refs), n, std::nullopt);
  }

  /// Creates an actor of type T from `args` and returns a handle to it. The instance is built
  /// on the arena once every `ref` argument is ready (they arrive as `const U&`); calls made
  /// meanwhile queue behind its construction. The arguments are kept to re-create the actor
  /// on restart. Throws weft::error after shutdown.
  template <class T, class... A>
  requires(!detail::first_is_actor_options<A...>::value) actor<T> spawn(A&&... args) {
    return detail::spawn_actor<T>(core_, actor_options{}, false, std::forward<A>(args)...);
  }

  /// Like spawn(args...) with options (name, namespace, concurrency, restarts, lifetime,
  /// resources). Throws weft::error for invalid options or a name already taken by a live
  /// actor in the namespace.
  template <class T, class... A>
  actor<T> spawn(const actor_options& options, A&&... args) {
    return detail::spawn_actor<T>(core_, options, false, std::forward<A>(args)...);
  }

  /// The live actor named `name` in the runtime's namespace. Throws weft::error if there is
  /// none, or if it is not a T.
  template <class T>
  actor<T> get_actor(const std::string& name) const {
    return detail::actor_access::adopt<T>(detail::find_actor(core_, name, nullptr, typeid(T)));
  }
  /// The live actor named `name` in namespace `ns`; errors as get_actor(name).
  template <class T>
  actor<T> get_actor(const std::string& name, const std::string& ns) const {
    return detail::actor_access::adopt<T>(detail::find_actor(core_, name, &ns, typeid(T)));
  }

  /// The live actor named `name` if there is one (a T, else weft::error), else a new one
  /// spawned from `args`; atomic, so racing callers all get the same actor.
  template <class T, class... A>
  actor<T> get_or_spawn(const std::string& name, A&&... args) {
    actor_options options;
    options.name = name;
    return detail::spawn_actor<T>(core_, options, true, std::forward<A>(args)...);
  }
  /// get_or_spawn with full options; `options.name` must not be empty.
  template <class T, class... A>
  actor<T> get_or_spawn(const actor_options& options, A&&... args) {
    if (options.name.empty()) throw error("get_or_spawn needs actor_options::name");
    return detail::spawn_actor<T>(core_, options, true, std::forward<A>(args)...);
  }

  /// Kills the actor: its running call (if any) finishes, queued and later calls fail with
  /// actor_died, and its instance is destroyed on the arena. Its name is free again at once.
  /// Killing a dead actor does nothing. Throws weft::error for an empty handle or an actor of
  /// another runtime.
  template <class T>
  void kill(const actor<T>& a) {
    if (!a.valid()) detail::throw_empty_actor("runtime::kill");
    detail::kill_actor(core_, detail::actor_access::cell_of(a));
  }

  /// Stops accepting tasks, cancels every task that has not started (cancelled_error), kills
  /// every actor (queued calls fail with actor_died, instances are destroyed), waits for
  /// running work to finish and releases the arena. Idempotent; concurrent callers all
  /// return once it is done. Throws weft::error when called from one of this runtime's tasks.
  void shutdown();

  /// Serves the cluster (a worker runs the tasks other nodes send it; a head keeps the
  /// membership) until the head stops the cluster (`weft stop`), or SIGTERM or SIGINT
  /// arrives; then returns. Throws weft::error for a runtime that is not a worker or head, or
  /// when the connection to the head is lost.
  void serve();

  /// This runtime's node id in its cluster ("head", "worker-2", "driver-1", ...), or "" for an
  /// in-process runtime.
  std::string node_id() const;

  /// The nodes work can run on: in-process, this runtime alone (id "", role "local"); in a
  /// cluster, every live node as the head last reported it (resources, load, heartbeats), with
  /// this node's own figures current. `available` counts what is neither held by running tasks
  /// and actors nor asked for by work waiting there.
  std::vector<node_status> nodes() const;
  /// The capacity of each named resource (Ray's `cluster_resources`): this runtime's
  /// in-process, summed over the live nodes in a cluster.
  resource_map cluster_resources() const;
  /// The units of each resource free now (Ray's `available_resources`), summed like
  /// cluster_resources(); other nodes' figures are as of their last heartbeat.
  resource_map available_resources() const;

  /// True once shutdown() has begun.
  bool is_shut_down() const noexcept;
  /// Number of worker threads the arena runs tasks on.
  unsigned threads() const noexcept;
  /// The validated configuration this runtime was created from.
  const config& settings() const noexcept;
  /// A snapshot of the task counters.
  runtime_stats stats() const noexcept;
  /// This runtime's metrics (tasks, actors, arena, resources; in a cluster also bytes per
  /// peer, heartbeats and refused connections) and the application's (weft/metrics.hpp), in
  /// the Prometheus text format: what `GET /metrics` on metrics_port() answers.
  std::string metrics_text() const;
  /// The HTTP port serving metrics_text() (config::metrics_port), 0 when none is served.
  unsigned metrics_port() const noexcept;

 private:
  template <class T>
  wait_result<T> wait_impl(std::vector<ref<T>> refs, std::size_t num,
                           std::optional<std::chrono::nanoseconds> timeout) {
    detail::check_wait_arguments(refs.size(), num, timeout);
    std::vector<detail::state_base*> states;
    states.reserve(refs.size());
    for (const auto& r : refs) {
      if (!r.valid()) detail::throw_empty_ref("runtime::wait");
      states.push_back(detail::ref_access::state_of(r));
    }
    detail::await_ready(states, num, timeout);
    wait_result<T> out;
    for (auto& r : refs) {
      auto& into = (out.ready.size() < num && r.ready()) ? out.ready : out.pending;
      into.push_back(std::move(r));
    }
    return out;
  }

  detail::runtime_core* core_;
};

/// The cluster node id of the runtime whose task runs on the calling thread ("" outside weft
/// tasks or in-process). A task can tell where it ran with it.
std::string current_node_id();

/// The arena counters (runtime::arena_stats) of the runtime whose task or actor call runs on
/// the calling thread; all zero outside weft tasks. A task on a worker can report its node's
/// objects, spills and pulls with it.
weft::arena_stats current_arena_stats() noexcept;

/// Creates the process-wide default runtime from `cfg` if none exists yet, and returns it.
/// A later init(cfg) with the same settings returns the existing runtime, so many libraries
/// in one program may call it and share one runtime; one asking for other settings (another
/// namespace, thread count, address, ...) throws config_error naming the first difference.
runtime& init(const config& cfg);
/// The default runtime as it is if one exists (whatever its settings), else
/// init(config::from_env()).
runtime& init();
/// True once the default runtime exists (init() or default_runtime() was called).
bool is_initialized() noexcept;
/// The process-wide runtime; created from config::from_env() on first use. It is shut down
/// when the program exits.
runtime& default_runtime();

}  // namespace weft
