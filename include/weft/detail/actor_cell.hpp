#pragma once
/// \file
/// The typed part of an actor (its instance and the constructor arguments kept for restarts)
/// and the two ways a call enters a mailbox: the constructor call and method calls.

#include <cstddef>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "weft/detail/actor_base.hpp"
#include "weft/detail/actor_types.hpp"
#include "weft/detail/submit.hpp"
#include "weft/options.hpp"
#include "weft/ref.hpp"

namespace weft::detail {

/// An actor of type T built from stored arguments S... (refs among them are resolved before
/// the first construction and passed as `const U&`, like task arguments).
template <class T, class... S>
class actor_cell final : public actor_base {
  static_assert(std::is_constructible_v<T, lvalue_arg_t<S>...>,
                "weft: T cannot be constructed from these spawn arguments (given as lvalues, "
                "since they are kept to re-create the actor on restart; a ref<U> argument is "
                "passed as const U&)");

 public:
  template <class... A>
  actor_cell(runtime_core* core, actor_options options, A&&... args)
      : actor_base(core, std::move(options), typeid(T)), args_(std::forward<A>(args)...) {}
  ~actor_cell() override { destroy(); }

  /// The stored constructor arguments (the ref ones are the constructor call's dependencies).
  std::tuple<S...>& arguments() noexcept { return args_; }

 private:
  void construct() override {
    pin_set<ref_count_v<S...>> pins;
    std::apply([&](const S&... a) { pins.pin_refs(a...); }, args_);
    std::apply([this](S&... a) { object_.emplace(unwrap_lvalue(a)...); }, args_);
    instance_ = &*object_;
  }
  void destroy() noexcept override {
    instance_ = nullptr;
    object_.reset();
  }

  std::tuple<S...> args_;
  std::optional<T> object_;
};

/// Creates, admits and queues a task computing R from F and stored arguments S... into an
/// actor's mailbox. Shared by method calls and the constructor call.
template <class R, class F, class... S>
struct message_factory {
  /// Returns the owner of the new call's state.
  /// `method` names a registered method for a call to an actor in another process.
  template <class Fn, class... A>
  static state_ptr<state<R>> post(actor_base& cell, const task_options* opts,
                                  const remote_function* method, Fn&& fn, A&&... args) {
    using T = task<R, F, S...>;
    check_submission<call_traits<F, S...>::by_lvalue>(opts, args...);
    auto* t = new T(&cell, cell.core(), std::forward<Fn>(fn), std::forward<A>(args)...);
    state_ptr<state<R>> owner(t);
    t->set_remote(method);
    attach_extras(*t, opts);
    admit_task(cell.core(), *t);
    cell.post(*t);
    if (method != nullptr && cell.is_proxy())
      t->subscribe_arriving_dependencies();  // the others are resolved by the actor's node
    else
      t->subscribe_dependencies();
    if (t->resolve_one()) {
      if (t->needs_resources())
        task_ready(cell.core(), *t);  // waits for its resources first
      else
        cell.message_ready(*t, true);  // our caller holds a handle
    }
    return owner;
  }
};

/// Queues the call `fn(instance, args...)` on `cell` and returns its ref. A call to an actor
/// that has ended completes at once with its actor_died error.
template <class T, class F, class... A>
auto call_actor(actor_base& cell, const task_options* opts, F&& fn, A&&... args) {
  using traits = call_traits<std::decay_t<F>, instance_arg<T>, std::decay_t<A>...>;
  using R = typename task_result<typename traits::raw>::type;
  if (opts && !opts->resources.empty()) throw_call_resources(cell);
  const remote_function* method = nullptr;
  if (cell.is_proxy()) {
    // The actor lives in another process: only its registered methods can reach it.
    if constexpr (remotable_call<std::decay_t<F>, instance_arg<T>, std::decay_t<A>...>()) {
      if (const actor_method* m = find_method_of<T>(fn)) method = &m->function;
    }
    if (method == nullptr) throw_unregistered_method(cell);
  }
  if (std::exception_ptr died = cell.final_error()) {
    auto* s = new plain_state<R>();
    state_ptr<state<R>> owner(s);
    s->fail(std::move(died));
    return ref_access::make(std::move(owner));
  }
  return ref_access::make(
      message_factory<R, std::decay_t<F>, instance_arg<T>, std::decay_t<A>...>::post(
          cell, opts, method, std::forward<F>(fn), instance_arg<T>{&cell.instance_},
          std::forward<A>(args)...));
}

/// The constructor call's callable: creates the instance once the ref arguments are ready.
struct constructor_call {
  actor_base* cell;
  template <class... X>
  void operator()(const X&...) const {
    cell->start();
  }
};

/// A tuple of `x` if it is a ref, else an empty tuple (to collect the constructor's
/// dependencies).
template <class X>
auto ref_only(const X& x) {
  if constexpr (is_ref_v<X>)
    return std::tuple<X>(x);
  else
    return std::tuple<>();
}

/// Queues the constructor call of a freshly enrolled cell, depending on its ref arguments and
/// carrying its resources.
template <class T, class... S>
void post_constructor(actor_cell<T, S...>& cell) {
  auto deps =
      std::apply([](const S&... a) { return std::tuple_cat(ref_only(a)...); }, cell.arguments());
  task_options opts;
  opts.name = cell.describe() + " constructor";
  opts.resources = cell.options().resources;
  std::apply(
      [&](const auto&... r) {
        auto owner =
            message_factory<void, constructor_call, std::remove_cvref_t<decltype(r)>...>::post(
                cell, &opts, nullptr, constructor_call{&cell}, r...);
        (void)owner;
      },
      deps);
}

/// An actor of type T built on this node for another node's spawn: its constructor arguments
/// S... arrived encoded and are decoded each time the instance is (re-)created, so restarts
/// work as for a local actor.
template <class T, class... S>
class arrived_actor_cell final : public actor_base {
  static_assert(std::is_constructible_v<T, S&...>,
                "weft: T cannot be constructed from these spawn arguments");

 public:
  arrived_actor_cell(runtime_core* core, actor_options options,
                     std::shared_ptr<const arrived_arguments> arguments)
      : actor_base(core, std::move(options), typeid(T)), arguments_(std::move(arguments)) {}
  ~arrived_actor_cell() override { destroy(); }

 private:
  void construct() override {
    value_list_reader reader(arguments_->values, arguments_->handles.get());
    // Braced initialisation evaluates left to right: the values come off in order.
    std::tuple<S...> values{reader.template next<S>()...};
    reader.finish();
    std::apply([this](S&... v) { object_.emplace(v...); }, values);
    instance_ = &*object_;
  }
  void destroy() noexcept override {
    instance_ = nullptr;
    object_.reset();
  }

  std::shared_ptr<const arrived_arguments> arguments_;
  std::optional<T> object_;
};

template <class T, class... S>
actor_base* spawn_arrived(runtime_core* core, const actor_options& options,
                          std::shared_ptr<const arrived_arguments> arguments,
                          const ref<bool>* gate) {
  auto* cell = new arrived_actor_cell<T, S...>(core, options, std::move(arguments));
  try {
    task_options opts;
    opts.name = cell->describe() + " constructor";
    opts.resources = cell->options().resources;
    if (gate != nullptr) {
      auto owner = message_factory<void, constructor_call, ref<bool>>::post(
          *cell, &opts, nullptr, constructor_call{cell}, *gate);
      (void)owner;
    } else {
      auto owner = message_factory<void, constructor_call>::post(*cell, &opts, nullptr,
                                                                 constructor_call{cell});
      (void)owner;
    }
    cell->enroll(false);
  } catch (...) {
    cell->abandon();
    cell->drop_handle();
    cell->release();
    throw;
  }
  return cell;
}

}  // namespace weft::detail
