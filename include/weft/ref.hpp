#pragma once
/// \file
/// weft::ref<T>: a shared handle to a value that exists now or later (a task's result).

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>

#include "weft/detail/state.hpp"
#include "weft/errors.hpp"

namespace weft {

template <class T>
class ref;

namespace detail {
/// Grants weft's own code access to a ref's state without widening the public API.
struct ref_access {
  template <class T>
  static state<T>* state_of(const ref<T>& r) noexcept {
    return r.s_.get();
  }
  template <class T>
  static ref<T> make(state_ptr<state<T>> s) noexcept {
    return ref<T>(std::move(s));
  }
};

template <class T>
struct is_ref : std::false_type {};
template <class T>
struct is_ref<ref<T>> : std::true_type {};
/// True when T (after removing cv and reference) is a weft::ref.
template <class T>
inline constexpr bool is_ref_v = is_ref<std::remove_cvref_t<T>>::value;

/// What ref<T>::get() returns: `const T&`, or void for ref<void>.
template <class T>
struct get_type_of {
  using type = const T&;
};
template <>
struct get_type_of<void> {
  using type = void;
};

/// Throws weft::error for an operation on an empty (default-constructed or moved-from) ref.
[[noreturn]] void throw_empty_ref(const char* operation);
/// Throws weft::error for a negative timeout given to `operation`.
[[noreturn]] void throw_negative_timeout(const char* operation, std::chrono::nanoseconds d);
/// Throws weft::timeout_error for a wait that ran out after `d`.
[[noreturn]] void throw_timeout(std::chrono::nanoseconds d);
}  // namespace detail

/// A copyable, shared handle to a value that exists now or will exist later: the result of a
/// task, or (later) an object in the arena or on another node. Copies share one value.
/// Thread safety: all const members may be called concurrently from any thread.
template <class T>
class ref {
 public:
  /// The type of the value this ref resolves to.
  using value_type = T;
  /// What get() returns: `const T&` (or void for ref<void>).
  using get_type = typename detail::get_type_of<T>::type;

  /// An empty ref; every operation but valid() and assignment throws weft::error.
  ref() = default;

  /// True unless the ref is empty.
  bool valid() const noexcept { return static_cast<bool>(s_); }

  /// True once the value (or an error) is available; never blocks.
  bool ready() const {
    require("ready()");
    return s_->ready();
  }

  /// Waits for the value and returns it, or rethrows the task's exception with its original
  /// type. Inside a weft task the wait suspends the task instead of blocking the worker. The
  /// returned reference stays valid while this ref or any copy of it exists: an arena object
  /// read with get() therefore stays in memory from then on and is never spilled. To read a
  /// large object without pinning it for good, use share() or read it in a task. Throws
  /// weft::object_lost if the object was spilled and cannot be restored.
  get_type get() const& {
    require("get()");
    s_->wait();
    return result();
  }

  /// get() on a temporary ref (e.g. `rt.submit(f).get()`) returns the value itself, so nothing
  /// dangles when the temporary dies: moved out if no other ref shares it, else copied. For
  /// types that cannot be copied, the `const T&` overload applies: keep the ref alive. It
  /// does not pin an arena object.
  T get() && requires(!std::is_void_v<T> && std::is_copy_constructible_v<T>) {
    require("get()");
    s_->wait();
    if (s_->failed()) std::rethrow_exception(s_->error());
    return s_->take_or_copy();
  }

  /// Waits for the value and returns a shared pointer to it (never a copy). While the pointer
  /// or a copy of it lives, the object stays in memory; once the last one is gone the arena
  /// may spill it again. The pointer keeps the value alive even if every ref is gone. Errors
  /// as get().
  std::shared_ptr<const T> share() const requires(!std::is_void_v<T>) {
    require("share()");
    s_->wait();
    if (s_->failed()) std::rethrow_exception(s_->error());
    auto holder =
        detail::state_ptr<detail::state<T>>::share(const_cast<detail::state<T>*>(s_->holder()));
    holder->pin_read();
    const T* value = &holder->value();
    return std::shared_ptr<const T>(value, [h = std::move(holder)](const T*) { h->unpin_read(); });
  }

  /// Like get(), but throws weft::timeout_error if the value is not ready within `timeout`.
  /// A zero timeout polls; a negative one throws weft::error.
  template <class Rep, class Period>
  get_type get_for(std::chrono::duration<Rep, Period> timeout) const {
    require("get_for()");
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout);
    if (ns.count() < 0) detail::throw_negative_timeout("ref::get_for", ns);
    if (!s_->wait_for(ns)) detail::throw_timeout(ns);
    return result();
  }

  /// Runs `fn(value)` as a task on the runtime that produced this ref once the value is ready
  /// and returns its ref; an error in this ref skips `fn` and propagates. For `ref<void>`, fn
  /// takes no argument. Throws weft::error if that runtime has shut down.
  template <class F>
  auto then(F&& fn) const;

  /// True when both refs share the same value (or are both empty).
  friend bool operator==(const ref& a, const ref& b) noexcept { return a.s_.get() == b.s_.get(); }

 private:
  friend struct detail::ref_access;
  explicit ref(detail::state_ptr<detail::state<T>> s) noexcept : s_(std::move(s)) {}

  void require(const char* operation) const {
    if (!s_) detail::throw_empty_ref(operation);
  }
  get_type result() const {
    if (s_->failed()) std::rethrow_exception(s_->error());
    if constexpr (!std::is_void_v<T>) {
      s_->pin_for_good();
      return s_->value();
    }
  }

  detail::state_ptr<detail::state<T>> s_;
};

/// Makes a ref that is ready from the start with `value` (moved in); useful as a graph input.
template <class T>
ref<std::decay_t<T>> make_ready_ref(T&& value) {
  auto* s = new detail::plain_state<std::decay_t<T>>();
  detail::state_ptr<detail::state<std::decay_t<T>>> p(s);
  s->emplace_value(std::forward<T>(value));
  s->commit_value();
  return detail::ref_access::make(std::move(p));
}

}  // namespace weft

template <class T>
struct std::hash<weft::ref<T>> {
  /// Hashes by identity of the shared value, consistent with operator==.
  std::size_t operator()(const weft::ref<T>& r) const noexcept {
    return std::hash<const void*>{}(weft::detail::ref_access::state_of(r));
  }
};

#include "weft/detail/submit.hpp"
