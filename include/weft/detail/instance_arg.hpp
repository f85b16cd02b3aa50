#pragma once
/// \file
/// The hidden first argument of an actor call: it resolves, when the call runs, to the actor's
/// current instance (which a restart replaces), so a method pointer can be invoked like any
/// other task callable.

#include <type_traits>

namespace weft::detail {

/// Resolves to the live instance of an actor of type T when a call runs.
template <class T>
struct instance_arg {
  /// The actor's slot holding its current instance (set while the instance exists).
  void* const* slot;
  /// The instance; only called by the actor's own mailbox while the instance exists.
  T& get() const noexcept { return *static_cast<T*>(*slot); }
};

template <class T>
struct is_instance_arg : std::false_type {};
template <class T>
struct is_instance_arg<instance_arg<T>> : std::true_type {};
/// True when S is an instance_arg.
template <class S>
inline constexpr bool is_instance_arg_v = is_instance_arg<std::remove_cvref_t<S>>::value;

}  // namespace weft::detail
