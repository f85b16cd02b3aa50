#pragma once
/// \file
/// What WEFT_REMOTE and WEFT_ACTOR expand to: checks, at compile time, that the parameters and
/// results of a function or of an actor's methods can be encoded; registers their codecs
/// (cereal_codec.hpp) and the function or actor type in its directory (remote_function.hpp,
/// actor_types.hpp). Included through weft/remote.hpp only.

#include <type_traits>
#include <typeinfo>

#include "weft/actor.hpp"
#include "weft/detail/actor_types.hpp"
#include "weft/detail/cereal_codec.hpp"
#include "weft/detail/object_record.hpp"
#include "weft/detail/remote_function.hpp"

namespace weft::detail {

/// True when a parameter of type P can be received from the wire and has a codec.
template <class P>
inline constexpr bool encodable_param_v = wire_param_v<P>&& encodable_v<std::decay_t<P>>;

/// True when a result of type R can travel back to the caller and has a codec.
template <class R>
inline constexpr bool encodable_result_v = wire_result_v<R> &&
                                           (std::is_void_v<R> ||
                                            encodable_v<std::remove_cvref_t<R>>);

template <class... P>
constexpr bool all_encodable_params(type_list<P...>) {
  return (encodable_param_v<P> && ...);
}

/// Registers the codecs of result R and parameters P... Returns true.
template <class R, class... P>
bool register_signature_codecs(type_list<P...>) noexcept {
  return register_codecs<R, std::decay_t<P>...>();
}

/// Registers function Fn under `name`; used by WEFT_REMOTE. Returns true.
/// See remote_function::result_may_be_held.
template <class R>
constexpr bool result_may_be_held() noexcept {
  if constexpr (std::is_void_v<R>) {
    return false;
  } else {
    return !(std::is_trivially_copyable_v<R> && sizeof(R) < tracked_result_min_bytes);
  }
}

template <auto Fn>
bool register_remote(const char* name) noexcept {
  using F = decltype(Fn);
  static_assert(function_signature<F>::value,
                "WEFT_REMOTE needs a plain (non-member, non-overloaded) function");
  using sig = function_signature<F>;
  static_assert(encodable_result_v<typename sig::result>,
                "WEFT_REMOTE: the function's result type cannot be sent between processes; "
                "make it trivially copyable, a vector/string of such, or give it a cereal "
                "serialize() function");
  static_assert(all_encodable_params(typename sig::params{}),
                "WEFT_REMOTE: a parameter type cannot be sent between processes (or is a "
                "non-const lvalue reference); parameters must be trivially copyable, "
                "vectors/strings of such, or have a cereal serialize() function");
  register_signature_codecs<typename sig::result>(typename sig::params{});
  register_remote_function(remote_function{name, reinterpret_cast<any_function>(Fn),
                                           &invoke_remote<Fn>,
                                           result_may_be_held<typename sig::result>()});
  return true;
}

template <auto Method>
bool method_is(const void* pointer) noexcept {
  return *static_cast<const decltype(Method)*>(pointer) == Method;
}

/// One registered method of T (its parameters' and result's codecs registered).
template <class T, auto Method>
actor_method describe_method() {
  using M = decltype(Method);
  using sig = member_signature<M>;
  static_assert(sig::value,
                "WEFT_ACTOR: list pointers to member functions (&Type::method, not overloaded)");
  static_assert(std::is_base_of_v<typename sig::owner, T>,
                "WEFT_ACTOR: a listed method does not belong to the actor type");
  static_assert(encodable_result_v<typename sig::result>,
                "WEFT_ACTOR: a method's result type cannot be sent between processes; make it "
                "trivially copyable, a vector/string of such, or give it a cereal serialize()");
  static_assert(all_encodable_params(typename sig::params{}),
                "WEFT_ACTOR: a method parameter cannot be sent between processes (or is a "
                "non-const lvalue reference)");
  register_signature_codecs<typename sig::result>(typename sig::params{});
  actor_method m;
  m.pointer_type = &typeid(M);
  m.matches = &method_is<Method>;
  m.invoke = &invoke_method<T, Method>;
  return m;
}

/// Registers T under `name` with the methods Methods...; used by WEFT_ACTOR. Returns true.
template <class T, auto... Methods>
bool register_actor(const char* name, const char* method_list) noexcept {
  static_assert(std::is_class_v<T>, "WEFT_ACTOR needs a class type");
  if constexpr (std::is_default_constructible_v<T>) (void)&actor_factory_of<T>::registered;
  register_actor_type(name, method_list, typeid(T), {describe_method<T, Methods>()...});
  return true;
}

}  // namespace weft::detail
