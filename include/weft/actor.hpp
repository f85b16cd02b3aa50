#pragma once
/// \file
/// weft::actor<T>: a handle to a stateful object whose calls run in order on the runtime's
/// arena, with no thread of its own; and weft::self<T>(), an actor's handle to itself.

#include <cstddef>
#include <functional>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "weft/detail/actor_cell.hpp"
#include "weft/options.hpp"
#include "weft/ref.hpp"

namespace weft {

template <class T>
class actor;

namespace detail {
/// Grants weft's own code access to an actor handle's cell.
struct actor_access {
  /// Wraps `cell`, adopting one reference and one handle count already taken for it.
  template <class T>
  static actor<T> adopt(actor_base* cell) noexcept {
    return actor<T>(cell);
  }
  template <class T>
  static actor_base* cell_of(const actor<T>& a) noexcept {
    return a.cell_;
  }
  /// Empties `a`, handing its reference and handle count to the caller.
  template <class T>
  static actor_base* release(actor<T>&& a) noexcept {
    return std::exchange(a.cell_, nullptr);
  }
};
}  // namespace detail

/// A copyable handle to an actor of type T, made by `runtime::spawn<T>`, `get_actor<T>` or
/// `self<T>()`. Calls through any handle are queued in the actor's mailbox; those made by one
/// thread (or one task or actor) run in the order they were made. With max_concurrency 1 no
/// two calls overlap, so T needs no lock. Thread safety: handles may be copied and used from
/// any thread. An `owned` actor ends when its last handle is gone and its queued calls ran.
template <class T>
class actor {
 public:
  /// The type of the actor's instance.
  using value_type = T;

  /// An empty handle; call() throws weft::error on it.
  actor() = default;
  /// Another handle to the same actor.
  actor(const actor& o) noexcept : cell_(o.cell_) {
    if (cell_) {
      cell_->retain();
      cell_->add_handle();
    }
  }
  /// Takes over `o`'s handle; `o` becomes empty.
  actor(actor&& o) noexcept : cell_(std::exchange(o.cell_, nullptr)) {}
  /// Replaces this handle with `o` (the old one counts as gone).
  actor& operator=(actor o) noexcept {
    std::swap(cell_, o.cell_);
    return *this;
  }
  /// Counts this handle gone.
  ~actor() {
    if (cell_) {
      cell_->drop_handle();
      cell_->release();
    }
  }

  /// Queues `method(args...)` on the actor and returns the ref to its result. `method` is a
  /// member function pointer of T, or any callable taking `T&` first. Arguments follow the
  /// rules of runtime::submit: a `ref<U>` is a dependency and arrives as `const U&`, the
  /// others are copied or moved. An exception from the method fails only this call (unless
  /// actor_options::restart_on asks for a restart). A call to a dead actor fails with
  /// actor_died.
  template <class M, class... A>
  requires(!std::is_same_v<std::remove_cvref_t<M>, task_options>) auto call(M&& method,
                                                                            A&&... args) const {
    require("actor::call");
    return detail::call_actor<T>(*cell_, nullptr, std::forward<M>(method),
                                 std::forward<A>(args)...);
  }

  /// Like call(method, args...) with per-call options: `name`, and `retries`/`retry_on` for
  /// idempotent methods (re-run on the same instance). `resources` are refused here: an actor
  /// holds its resources for its whole life (actor_options::resources).
  template <class M, class... A>
  auto call(const task_options& options, M&& method, A&&... args) const {
    require("actor::call");
    return detail::call_actor<T>(*cell_, &options, std::forward<M>(method),
                                 std::forward<A>(args)...);
  }

  /// True unless the handle is empty.
  bool valid() const noexcept { return cell_ != nullptr; }
  /// The actor's name ("" for an unnamed actor).
  const std::string& name() const {
    require("actor::name");
    return cell_->name();
  }
  /// Calls queued or running on the actor right now (a snapshot, for load balancing).
  std::size_t pending_calls() const {
    require("actor::pending_calls");
    auto n = cell_->load();
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  /// How many times the actor was re-created since it was spawned (a throwing constructor, a
  /// method restart_on accepted, or in a cluster its node dying), as this process knows it;
  /// a change tells a holder that state kept in the instance started over.
  int restarts() const {
    require("actor::restarts");
    return cell_->restarts();
  }
  /// True when both handles designate the same actor (or are both empty).
  friend bool operator==(const actor& a, const actor& b) noexcept { return a.cell_ == b.cell_; }

 private:
  friend struct detail::actor_access;
  explicit actor(detail::actor_base* adopted) noexcept : cell_(adopted) {}
  void require(const char* operation) const {
    if (!cell_) detail::throw_empty_actor(operation);
  }

  detail::actor_base* cell_ = nullptr;
};

/// Inside a call of an actor of type T (or its constructor), a handle to that actor, e.g. to
/// queue a call to itself. Throws weft::error anywhere else or for another T. Note: awaiting
/// (get()) the result of a call to yourself from a max_concurrency-1 actor would wait forever;
/// weft detects that case and throws weft::error instead.
template <class T>
actor<T> self() {
  detail::actor_base* cell = detail::current_actor();
  if (cell == nullptr || cell->type() != typeid(T)) detail::throw_bad_self(typeid(T));
  cell->retain();
  cell->add_handle();
  return detail::actor_access::adopt<T>(cell);
}

namespace detail {

/// Empties `a`, handing its cell (one reference, one handle) to the caller; declared in
/// actor_types.hpp for the factories, which cannot see actor_access.
template <class T>
actor_base* release_handle(actor<T>&& a) noexcept {
  return actor_access::release(std::move(a));
}

/// Creates an actor of type T on `core`, in this process: queues its constructor call, then
/// registers it. With `get_existing` a live actor of the same name is returned instead.
template <class T, class... A>
actor<T> spawn_local(runtime_core* core, const actor_options& options, bool get_existing,
                     A&&... args) {
  static_assert(!std::is_reference_v<T> && !std::is_const_v<T>,
                "weft: spawn<T> needs a plain type");
  using cell_type = actor_cell<T, std::decay_t<A>...>;
  auto* cell = new cell_type(core, options, std::forward<A>(args)...);
  actor<T> handle = actor_access::adopt<T>(cell);
  try {
    post_constructor(*cell);
  } catch (...) {
    cell->abandon();
    throw;
  }
  actor_base* existing = nullptr;
  try {
    existing = cell->enroll(get_existing);
  } catch (...) {
    cell->abandon();
    throw;
  }
  if (existing != nullptr) {
    cell->abandon();
    return actor_access::adopt<T>(existing);
  }
  return handle;
}

/// Appends one spawn argument to `out`: a value as it is; a ref's value when it is complete,
/// else a placeholder the receiver resolves once it is (the actor waits for it there).
template <class A>
void append_spawn_argument(wire_value& out, const A& argument) {
  if constexpr (is_ref_v<A>) {
    using V = typename A::value_type;
    auto* st = ref_access::state_of(argument);
    if (st->ready() && !st->failed())
      append_ref_value<V>(*st, out);
    else
      out.append_deferred(*st, &append_ref_value<V>);
  } else {
    out.append_entry(argument);
  }
}

/// Creates an actor of type T: in-process as spawn_local; in a cluster wherever placement puts
/// it (DESIGN.md section 5), which may be another node when T is registered with WEFT_ACTOR
/// and the arguments can travel.
template <class T, class... A>
actor<T> spawn_actor(runtime_core* core, const actor_options& options, bool get_existing,
                     A&&... args) {
  if (!routes_remote(core))
    return spawn_local<T>(core, options, get_existing, std::forward<A>(args)...);
  cluster_spawn_request request;
  request.type = &typeid(T);
  request.options = &options;
  request.get_existing = get_existing;
  // The arguments travel when each has a codec (direct, or registered through
  // weft/remote.hpp); else the actor stays here.
  if constexpr (wire_spawn_v<A...>) {
    (void)&actor_factory_of<T, spawn_value_t<A>...>::registered;
    if ((has_codec<spawn_value_t<A>>() && ... && true)) {
      request.factory = factory_key<T, spawn_value_t<A>...>();
      request.encode = [&] {
        auto out = std::make_shared<wire_value>();
        auto copies = std::make_shared<const std::tuple<std::decay_t<A>...>>(args...);
        std::apply([&](const auto&... v) { (append_spawn_argument(*out, v), ...); }, *copies);
        out->keep_alive(std::move(copies));
        return out;
      };
    }
  }
  request.spawn_here = [&] {
    return release_handle(spawn_local<T>(core, options, get_existing, std::forward<A>(args)...));
  };
  return actor_access::adopt<T>(spawn_in_cluster(core, request));
}

template <class T, auto Method>
ref<std::shared_ptr<wire_value>> invoke_method(actor_base& cell,
                                               std::shared_ptr<const arrived_arguments> arguments,
                                               const ref<bool>* gate, const task_options& options) {
  using sig = member_signature<decltype(Method)>;
  using invocation =
      remote_invocation<typename prepend<typename sig::result, typename sig::params>::type>;
  // Decodes the parameters, runs the method on the instance, encodes its result.
  auto run = [arguments](T& self) {
    return invocation::decode_call_encode(
        arguments->values, arguments->handles.get(),
        [&self](auto&... v) -> typename sig::result { return (self.*Method)(std::move(v)...); });
  };
  if (gate != nullptr)
    return call_actor<T>(
        cell, &options, [run](T& self, const bool&) { return run(self); }, *gate);
  return call_actor<T>(cell, &options, run);
}

}  // namespace detail
}  // namespace weft

template <class T>
struct std::hash<weft::actor<T>> {
  /// Hashes by identity of the actor, consistent with operator==.
  std::size_t operator()(const weft::actor<T>& a) const noexcept {
    return std::hash<const void*>{}(weft::detail::actor_access::cell_of(a));
  }
};
