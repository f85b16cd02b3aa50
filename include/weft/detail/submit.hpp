#pragma once
/// \file
/// The typed task record and `submit_task`, which turns a callable and its arguments into a
/// task whose `ref` arguments are dependency edges. Included at the end of weft/ref.hpp.

#include <array>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "weft/detail/instance_arg.hpp"
#include "weft/detail/task.hpp"
#include "weft/options.hpp"
#include "weft/ref.hpp"

namespace weft::detail {

/// What a stored argument is passed as when invoked: a ref<U> becomes `const U&` (the shared
/// value, never a copy; a ref<void> is passed as itself), an actor call's instance_arg the
/// actor's instance, anything else its stored copy.
template <class S>
decltype(auto) unwrap_lvalue(S& s) noexcept {
  if constexpr (is_ref_v<S>) {
    using V = typename S::value_type;
    if constexpr (std::is_void_v<V>)
      return static_cast<const S&>(s);
    else
      return static_cast<const V&>(ref_access::state_of(s)->value());
  } else if constexpr (is_instance_arg_v<S>) {
    return s.get();
  } else {
    return static_cast<S&>(s);
  }
}

/// Like unwrap_lvalue, but plain arguments are moved (for callables taking move-only values).
template <class S>
decltype(auto) unwrap_rvalue(S& s) noexcept {
  if constexpr (is_ref_v<S> || is_instance_arg_v<S>)
    return unwrap_lvalue(s);
  else
    return static_cast<S&&>(s);
}

template <class S>
using lvalue_arg_t = decltype(unwrap_lvalue(std::declval<S&>()));
template <class S>
using rvalue_arg_t = decltype(unwrap_rvalue(std::declval<S&>()));

/// How a callable F is invoked with stored arguments S...: by lvalue when possible (so a retry
/// can run it again), else by rvalue (move-only arguments; no retries then).
template <class F, class... S>
struct call_traits {
  static constexpr bool by_lvalue = std::is_invocable_v<F&, lvalue_arg_t<S>...>;
  static constexpr bool by_rvalue = std::is_invocable_v<F&&, rvalue_arg_t<S>...>;
  static_assert(by_lvalue || by_rvalue,
                "weft: the callable cannot be invoked with these arguments; note that a "
                "ref<T> argument is passed to it as const T&");
  using raw = typename std::conditional_t<by_lvalue, std::invoke_result<F&, lvalue_arg_t<S>...>,
                                          std::invoke_result<F&&, rvalue_arg_t<S>...>>::type;
};

/// The value type of a task's ref: the callable's decayed result, except that a task returning
/// ref<U> yields ref<U> completing with the inner value (no nested refs, no copy).
template <class Raw>
struct task_result {
  using type = std::remove_cvref_t<Raw>;
  static constexpr bool flatten = false;
};
template <class Raw>
requires is_ref_v<Raw>
struct task_result<Raw> {
  using type = typename std::remove_cvref_t<Raw>::value_type;
  static constexpr bool flatten = true;
};

/// Pins the arena objects among up to N ref arguments in memory for one call, and unpins them
/// when released or destroyed.
template <std::size_t N>
class pin_set {
 public:
  pin_set() = default;
  pin_set(const pin_set&) = delete;
  pin_set& operator=(const pin_set&) = delete;
  ~pin_set() { release(); }

  /// Pins the tracked values of the refs among `xs` (restoring spilled ones); throws
  /// weft::object_lost for a value that cannot be restored (what was pinned stays counted).
  template <class... X>
  void pin_refs(const X&... xs) {
    (add(xs), ...);
  }
  /// Unpins everything pinned so far.
  void release() noexcept {
    while (count_ > 0)
      pinned_[--count_]->unpin();
  }

 private:
  template <class X>
  void add(const X& x) {
    if constexpr (is_ref_v<X>) {
      if constexpr (!std::is_void_v<typename X::value_type>) {
        if (object_record* r = ref_access::state_of(x)->record()) {
          r->pin();
          pinned_[count_++] = r;
        }
      }
    }
  }
  std::array<object_record*, N> pinned_{};
  std::size_t count_ = 0;
};

/// Number of ref arguments among S...
template <class... S>
inline constexpr std::size_t ref_count_v = (std::size_t{is_ref_v<S>} + ... + 0);

/// Throws weft::error: retries need a callable that can be invoked again with its arguments.
[[noreturn]] void throw_retry_needs_lvalue_call();
/// Throws weft::error: then() on a ref no runtime produced.
[[noreturn]] void throw_no_home();
/// Throws weft::error: a task that cannot run remotely was asked to (an internal error).
[[noreturn]] void throw_not_remotable();
/// True when `core` belongs to a cluster (a task of a registered function may leave it).
bool routes_remote(const runtime_core* core) noexcept;

/// A task computing R from callable F and stored arguments S...
template <class R, class F, class... S>
class task final : public state<R>, public task_base {
  using traits = call_traits<F, S...>;
  using result = task_result<typename traits::raw>;
  static constexpr std::size_t dep_count = ref_count_v<S...>;

 public:
  template <class Fn, class... A>
  task(runtime_core* core, Fn&& fn, A&&... args)
      : task_base(core, static_cast<int>(dep_count) + 1),
        payload_(std::in_place, std::forward<Fn>(fn), std::forward<A>(args)...) {}
  /// An actor call delivered by `mailbox`'s mailbox.
  template <class Fn, class... A>
  task(actor_base* mailbox, runtime_core* core, Fn&& fn, A&&... args)
      : task_base(mailbox, core, static_cast<int>(dep_count) + 1),
        payload_(std::in_place, std::forward<Fn>(fn), std::forward<A>(args)...) {}

  /// Links the task into each ref argument's waiters, then drops the submission guard.
  void subscribe_all() noexcept {
    subscribe_dependencies();
    dependency_ready();
  }
  /// Links the task into each ref argument's waiters (the submission guard stays).
  void subscribe_dependencies() noexcept {
    std::size_t k = 0;
    std::apply([&](F&, S&... s) { (subscribe_one(s, k), ...); }, *payload_);
  }
  /// For a call to an actor of another node: waits only for the ref arguments whose values
  /// come to this node from another one anyway (results of remote tasks and calls), so the
  /// call then travels with them at no extra message. The others (a local task still running)
  /// go as deferred arguments that the actor's node resolves from here, the call keeping its
  /// place there meanwhile.
  void subscribe_arriving_dependencies() noexcept {
    std::size_t k = 0;
    std::apply([&](F&, S&... s) { (subscribe_if_arriving(s, k), ...); }, *payload_);
  }

  state_base& result_state() noexcept override { return *this; }
  bool try_cancel() noexcept override {
    return not_started() && cancel_with(make_cancelled(*this, "cancelled before it started"));
  }
  runtime_core* home() const noexcept override { return core(); }

  bool dependency_failed() const noexcept override {
    return payload_ && first_dependency_error() != nullptr;
  }
  std::exception_ptr dependency_error() const noexcept override {
    return payload_ ? first_dependency_error() : nullptr;
  }

  std::shared_ptr<wire_value> encode_call() override {
    if constexpr (remotable) {
      auto out = std::make_shared<wire_value>();
      out->reserve_entries(sizeof...(S));
      // The pieces may point into the stored arguments: the encoding keeps this task alive.
      this->retain();
      out->hold(static_cast<state_base*>(this),
                [](void* s) { static_cast<state_base*>(s)->release(); });
      encode_arguments(*out, wire_params_t<F>{});
      return out;
    } else {
      throw_not_remotable();
    }
  }

  void complete_remote(std::span<const std::byte> bytes) override {
    if constexpr (remotable) {
      if constexpr (std::is_void_v<R>) {
        if (!bytes.empty()) throw_bad_value_list(0, 0, bytes.size());
        payload_.reset();
        this->commit_value();
      } else {
        this->emplace_value(decode_bytes<R>(bytes));
        this->track_if_large(core());
        payload_.reset();
        this->commit_value();
      }
    } else {
      throw_not_remotable();
    }
  }

  void complete_held(std::shared_ptr<remote_object> remote) override {
    if constexpr (remotable && !std::is_void_v<R>) {
      this->track_remote(core(), std::move(remote));
      payload_.reset();
      this->commit_value();
    } else {
      throw_not_remotable();
    }
  }

  const void* mailbox_of() const noexcept override { return mailbox(); }
  bool arrives_from_another_node() const noexcept override {
    // A registered function (only set in a cluster) or a call to a stand-in: its result is
    // computed elsewhere and comes back here.
    return remote() != nullptr && !this->ready();
  }
  bool try_run_inline(runtime_core* core) noexcept override {
    // An actor call runs only when its mailbox delivers it, never out of order.
    if (mailbox() || core != this->core() || !dependencies_resolved()) return false;
    if (needs_resources()) return false;  // must queue for its resources
    return run_inline(core, *this);
  }

 private:
  void execute() noexcept override {
    if (std::exception_ptr e = first_dependency_error()) {
      abandon(std::move(e));
      return;
    }
    for (;;) {
      try {
        run_once();
        return;
      } catch (...) {
        std::exception_ptr e = std::current_exception();
        if (should_retry(e)) continue;
        if (mailbox()) actor_call_threw(mailbox(), e);  // decided before anyone sees the error
        abandon(std::move(e));
        return;
      }
    }
  }

  void abandon(std::exception_ptr why) noexcept override {
    payload_.reset();
    this->fail(std::move(why));
  }
  struct dep_link final : continuation {
    task_base* owner_ = nullptr;
    void on_ready() noexcept override { owner_->dependency_ready(); }
  };

  template <class X>
  void subscribe_one(X& x, std::size_t& k) noexcept {
    if constexpr (is_ref_v<X>) {
      dep_link& link = links_[k++];
      link.owner_ = this;
      if (!ref_access::state_of(x)->subscribe(&link)) dependency_ready();
    }
  }
  template <class X>
  void subscribe_if_arriving(X& x, std::size_t& k) noexcept {
    if constexpr (is_ref_v<X>) {
      if (ref_access::state_of(x)->arrives_from_another_node()) {
        subscribe_one(x, k);
      } else {
        ++k;
        skip_dependency();
      }
    }
  }

  std::exception_ptr first_dependency_error() const noexcept {
    std::exception_ptr found;
    std::apply(
        [&](const F&, const S&... s) {
          [[maybe_unused]] auto check = [&](const auto& x) {
            if constexpr (is_ref_v<decltype(x)>) {
              auto* st = ref_access::state_of(x);
              if (!found && st->failed()) found = st->error();
            }
          };
          (check(s), ...);
        },
        *payload_);
    return found;
  }

  decltype(auto) invoke() {
    return std::apply(
        [](F& f, S&... s) -> typename traits::raw {
          if constexpr (traits::by_lvalue)
            return std::invoke(f, unwrap_lvalue(s)...);
          else
            return std::invoke(std::move(f), unwrap_rvalue(s)...);
        },
        *payload_);
  }

  void run_once() {
    pin_set<dep_count> pins;
    std::apply([&](const F&, const S&... s) { pins.pin_refs(s...); }, *payload_);
    if constexpr (result::flatten) {
      auto inner = invoke();
      pins.release();
      auto* inner_state = ref_access::state_of(inner);
      if (!inner_state) throw_empty_returned_ref();
      payload_.reset();
      this->forward_to(state_ptr<state<R>>::share(inner_state));
    } else if constexpr (std::is_void_v<R>) {
      invoke();
      pins.release();
      payload_.reset();
      this->commit_value();
    } else {
      this->emplace_value(invoke());
      pins.release();
      this->track_if_large(core());
      payload_.reset();
      this->commit_value();
    }
  }

  static constexpr bool remotable = remotable_call<F, S...>();

  template <class... P>
  void encode_arguments(wire_value& out, type_list<P...>) {
    if constexpr (member_signature<F>::value) {
      // An actor method: the instance stays where the actor lives.
      std::apply(
          [&](const F&, const auto&, const auto&... s) { (encode_argument<P>(out, s), ...); },
          *payload_);
    } else {
      std::apply([&](const F&, const S&... s) { (encode_argument<P>(out, s), ...); }, *payload_);
    }
  }

  template <class P, class X>
  static void encode_argument(wire_value& out, const X& x) {
    using V = typename stored_value<X>::type;
    if constexpr (is_ref_v<X> && std::is_same_v<std::decay_t<P>, V>) {
      auto* st = ref_access::state_of(x);
      // Not ready (or failed since the caller looked): the receiver asks for it, and gets the
      // value once it is ready, or its error.
      if (!st->ready() || st->failed())
        out.append_deferred(*st, &append_ref_value<V>);
      else
        append_ref_value<V>(*st, out);
    } else {
      const V* value = nullptr;
      object_record* source = nullptr;
      if constexpr (is_ref_v<X>) {
        auto* st = ref_access::state_of(x);
        source = st->record();
        if (source != nullptr) out.pin(source);  // restored if spilled, held while sent
        value = &static_cast<const V&>(st->value());
      } else {
        value = &x;
      }
      if constexpr (std::is_same_v<std::decay_t<P>, V>) {
        out.append_entry(*value);
      } else {
        // Converted to the parameter's type here: the copy is sent, not the object.
        (void)source;
        auto converted = std::make_shared<const std::decay_t<P>>(*value);
        out.append_entry(*converted);
        out.keep_alive(std::move(converted));
      }
    }
  }

  std::optional<std::tuple<F, S...>> payload_;
  std::array<dep_link, dep_count> links_;
};

/// True when `opts` asks for anything beyond the defaults (so the task needs task_extras).
inline bool has_extras(const task_options& opts) noexcept {
  return opts.retries != 0 || opts.retry_on || !opts.name.empty() || !opts.resources.empty() ||
         opts.node_retries != default_node_retries;
}

/// Throws weft::error for an empty ref among `args`, or for retries asked of a callable that
/// cannot be called again (`by_lvalue` false).
template <bool by_lvalue, class... A>
void check_submission(const task_options* opts, const A&... args) {
  std::size_t index = 0;
  [[maybe_unused]] auto check = [&](const auto& a) {
    if constexpr (is_ref_v<decltype(a)>) {
      if (!a.valid()) throw_empty_argument(index);
    }
    ++index;
  };
  (check(args), ...);
  if (opts && opts->retries > 0 && !by_lvalue) throw_retry_needs_lvalue_call();
}

/// Gives `task` the options beyond the defaults that `opts` (may be null) asks for.
inline void attach_extras(task_base& task, const task_options* opts) {
  if (opts && has_extras(*opts)) {
    task.set_extras(std::make_unique<task_extras>(task_extras{
        opts->name, opts->retries, opts->retry_on, opts->resources, opts->node_retries}));
  }
}

/// Creates, admits and subscribes a task; returns its ref. `opts` may be null (defaults).
template <class F, class... A>
auto submit_task(runtime_core* core, const task_options* opts, F&& fn, A&&... args) {
  using traits = call_traits<std::decay_t<F>, std::decay_t<A>...>;
  using R = typename task_result<typename traits::raw>::type;
  using T = task<R, std::decay_t<F>, std::decay_t<A>...>;

  check_submission<traits::by_lvalue>(opts, args...);
  const remote_function* remote = nullptr;
  if constexpr (remotable_call<std::decay_t<F>, std::decay_t<A>...>()) {
    if (routes_remote(core)) remote = find_remote_function(reinterpret_cast<any_function>(fn));
  }
  auto* t = new T(core, std::forward<F>(fn), std::forward<A>(args)...);
  state_ptr<state<R>> owner(t);
  t->set_remote(remote);
  attach_extras(*t, opts);
  admit_task(core, *t);
  t->subscribe_all();
  return ref_access::make(std::move(owner));
}

}  // namespace weft::detail

namespace weft {

template <class T>
template <class F>
auto ref<T>::then(F&& fn) const {
  require("then()");
  detail::runtime_core* core = s_->home();
  if (!core) detail::throw_no_home();
  if constexpr (std::is_void_v<T>) {
    return detail::submit_task(
        core, nullptr,
        [f = std::forward<F>(fn)](const ref<void>&) mutable -> decltype(auto) {
          return std::invoke(f);
        },
        *this);
  } else {
    return detail::submit_task(core, nullptr, std::forward<F>(fn), *this);
  }
}

}  // namespace weft
