#pragma once
/// \file
/// The directory of functions registered with WEFT_REMOTE, and what decides whether a call can
/// cross a process: the callable is a plain function pointer, and its parameters and result
/// are values (not pointers, not refs). Whether they can be encoded is checked when the
/// function is registered (registration.hpp, through weft/remote.hpp), which also registers
/// their codecs (codec.hpp); an unregistered function never leaves its process. Registration
/// only records a name and an invoker; in-process runtimes never look at it.

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/detail/instance_arg.hpp"
#include "weft/detail/wire_value.hpp"

namespace weft {
template <class T>
class ref;
}

namespace weft::detail {

/// Any function pointer, as the registry stores it (converted back only by its invoker).
using any_function = void (*)();

/// Runs a registered function on its encoded arguments (one byte span per parameter; refs and
/// actor handles inside them come from `handles`, null when there are none); returns the
/// encoded result. Exceptions of the function propagate.
using remote_invoker = std::shared_ptr<wire_value> (*)(
    std::span<const std::span<const std::byte>> arguments, handle_source* handles);

/// One registered function.
struct remote_function {
  std::string name;       ///< The stable name other processes call it by.
  any_function address;   ///< The function itself.
  remote_invoker invoke;  ///< Decodes arguments, calls, encodes the result.
  /// False when the result always encodes to fewer bytes than a result held on the worker
  /// needs (a fixed-size value): such results always come back with the answer, so the
  /// caller keeps no lineage for them.
  bool result_may_be_held = true;
};

/// Adds `f` to the process's directory (at static initialisation). A second registration of
/// the same name for another function is refused with a logged error; the first one stays.
void register_remote_function(remote_function f) noexcept;
/// The registered function at `address`, or nullptr.
const remote_function* find_remote_function(any_function address) noexcept;
/// The registered function named `name`, or nullptr.
const remote_function* find_remote_function(std::string_view name) noexcept;
/// The names of every registered function, sorted.
std::vector<std::string> remote_function_names();

template <class... P>
struct type_list {};

/// Parameter and result types of a plain function pointer type.
template <class F>
struct function_signature : std::false_type {};
template <class R, class... P>
struct function_signature<R (*)(P...)> : std::true_type {
  using result = R;
  using params = type_list<P...>;
  static constexpr std::size_t arity = sizeof...(P);
};
template <class R, class... P>
struct function_signature<R (*)(P...) noexcept> : function_signature<R (*)(P...)> {};

/// Parameter and result types of a pointer to a member function (the methods WEFT_ACTOR names).
template <class F>
struct member_signature : std::false_type {};
template <class R, class C, class... P>
struct member_signature<R (C::*)(P...)> : std::true_type {
  using result = R;
  using params = type_list<P...>;
  using owner = C;
};
template <class R, class C, class... P>
struct member_signature<R (C::*)(P...) const> : member_signature<R (C::*)(P...)> {};
template <class R, class C, class... P>
struct member_signature<R (C::*)(P...) noexcept> : member_signature<R (C::*)(P...)> {};
template <class R, class C, class... P>
struct member_signature<R (C::*)(P...) const noexcept> : member_signature<R (C::*)(P...)> {};

template <class T>
struct is_weft_ref : std::false_type {};
template <class T>
struct is_weft_ref<ref<T>> : std::true_type {};

/// True when a value of type T may travel between processes: an object that is neither a
/// pointer nor a ref (a ref itself is a dependency, not a value; refs and actor handles inside
/// a value travel as references). Whether it has a codec is checked where functions and
/// methods are registered (registration.hpp).
template <class T>
inline constexpr bool wire_type_v =
    std::is_object_v<T> && !is_weft_ref<T>::value && !std::is_pointer_v<T>;

/// True when a parameter of type P can be received from the wire: by value, const&, or &&.
template <class P>
inline constexpr bool wire_param_v =
    wire_type_v<std::decay_t<P>> &&
    !(std::is_lvalue_reference_v<P> && !std::is_const_v<std::remove_reference_t<P>>);

/// The value a stored argument of type S stands for (a ref's value type, else S).
template <class S>
struct stored_value {
  using type = S;
};
template <class U>
struct stored_value<ref<U>> {
  using type = U;
};

template <class P, class V>
struct parameter_from : std::is_constructible<std::decay_t<P>, const V&> {};
template <class P>
struct parameter_from<P, void> : std::false_type {};

/// True when a stored argument S can be passed as parameter P of a remote function.
template <class P, class S>
inline constexpr bool wire_argument_v =
    wire_param_v<P>&& parameter_from<P, typename stored_value<S>::type>::value;

template <class Params, class... S>
struct arguments_fit : std::false_type {};
template <class... P, class... S>
requires(sizeof...(P) == sizeof...(S)) struct arguments_fit<type_list<P...>, S...>
    : std::bool_constant<(wire_argument_v<P, S> && ...)> {
};

/// True when a result of type R can travel back to the caller (refs and actor handles inside
/// results cannot, yet: such a task runs where it was submitted).
template <class R>
inline constexpr bool wire_result_v = std::is_void_v<R> ||
                                      (wire_type_v<std::remove_cvref_t<R>> &&
                                       !contains_handles_v<std::remove_cvref_t<R>>);

/// True when a method call F on an actor (its stored instance argument I, then S...) may run
/// in another process.
template <class F, class I, class... S>
constexpr bool remotable_method_call() {
  using sig = member_signature<F>;
  return is_instance_arg_v<I> && wire_result_v<typename sig::result> &&
         arguments_fit<typename sig::params, S...>::value;
}

/// True when calling F with stored arguments S... may run in another process: a registered
/// plain function, or a method of an actor (whose first stored argument is the instance).
template <class F, class... S>
constexpr bool remotable_call() {
  if constexpr (function_signature<F>::value) {
    using sig = function_signature<F>;
    return wire_result_v<typename sig::result> && arguments_fit<typename sig::params, S...>::value;
  } else if constexpr (member_signature<F>::value && sizeof...(S) >= 1) {
    return remotable_method_call<F, S...>();
  } else {
    return false;
  }
}

/// The parameters of a remotable callable F (a function or a method pointer).
template <class F>
using wire_params_t =
    typename std::conditional_t<function_signature<F>::value, function_signature<F>,
                                member_signature<F>>::params;

template <class F>
struct remote_invocation;
template <class R, class... P>
struct remote_invocation<type_list<R, P...>> {
  /// Decodes parameters P... from `arguments`, calls `call` with them (as lvalues it may move
  /// from) and encodes what it returns (an R).
  template <class Call>
  static std::shared_ptr<wire_value> decode_call_encode(
      std::span<const std::span<const std::byte>> arguments, handle_source* handles, Call&& call) {
    value_list_reader reader(arguments, handles);
    // Braced initialisation evaluates left to right: the values come off in order.
    std::tuple<std::decay_t<P>...> values{reader.next<std::decay_t<P>>()...};
    reader.finish();
    auto out = std::make_shared<wire_value>();
    if constexpr (std::is_void_v<R>) {
      std::apply(call, values);
    } else {
      out->append_owned(std::apply(call, values));
    }
    return out;
  }
  template <auto Fn>
  static std::shared_ptr<wire_value> run(std::span<const std::span<const std::byte>> arguments,
                                         handle_source* handles) {
    return decode_call_encode(arguments, handles,
                              [](std::decay_t<P>&... v) -> R { return Fn(std::move(v)...); });
  }
};

template <class R, class List>
struct prepend;
template <class R, class... P>
struct prepend<R, type_list<P...>> {
  using type = type_list<R, P...>;
};

/// The invoker of function Fn: decodes its parameters, calls it, encodes its result.
template <auto Fn>
std::shared_ptr<wire_value> invoke_remote(std::span<const std::span<const std::byte>> arguments,
                                          handle_source* handles) {
  using sig = function_signature<decltype(Fn)>;
  using list = typename prepend<typename sig::result, typename sig::params>::type;
  return remote_invocation<list>::template run<Fn>(arguments, handles);
}

}  // namespace weft::detail
