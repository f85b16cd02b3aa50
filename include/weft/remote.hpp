#pragma once
/// \file
/// The opt-in header of registration and serialization: WEFT_REMOTE and WEFT_ACTOR name a
/// function or an actor type so that, in a cluster, its tasks or its instances may live in
/// other processes; WEFT_SERIALIZABLE gives a type a codec so that its arena objects can be
/// spilled. It brings cereal (the codec of types other than trivially copyable ones and
/// vectors/strings of them) and the encoding of refs and actor handles inside values.
/// weft/weft.hpp does not include it: in-process programs that need none of this do not pay
/// for compiling it. In-process the registrations cost nothing beyond one entry in a table
/// built at start-up.

#include "weft/actor.hpp"
#include "weft/detail/actor_types.hpp"
#include "weft/detail/cereal_codec.hpp"
#include "weft/detail/handle_codec.hpp"
#include "weft/detail/registration.hpp"
#include "weft/detail/remote_function.hpp"

#define WEFT_DETAIL_CONCAT2(a, b) a##b
#define WEFT_DETAIL_CONCAT(a, b) WEFT_DETAIL_CONCAT2(a, b)

/// Registers the plain function `fn` under the name `#fn` (write it the same way in every
/// program of a cluster: `WEFT_REMOTE(add)`, `WEFT_REMOTE(geo::area)`). Put it at namespace
/// scope in one source file, after the function. Its parameters and result must be
/// encodable: trivially copyable types (sent as their bytes: no pointers inside),
/// vectors/strings of those, or types with a cereal `serialize` function. A task
/// `rt.submit(fn, args...)` may then run on any node whose program registered the same name;
/// a task of an unregistered callable always runs where it was submitted.
#define WEFT_REMOTE(fn)                                                                         \
  [[maybe_unused]] static const bool WEFT_DETAIL_CONCAT(weft_remote_registered_, __COUNTER__) = \
      ::weft::detail::register_remote<&fn>(#fn)

/// Registers the actor type `Type` under the name `#Type` with the methods listed after it
/// (`WEFT_ACTOR(Counter, &Counter::incr, &Counter::get)`; write it the same way in every
/// program of a cluster, at namespace scope in one source file). In a cluster, `spawn<Type>`
/// may then place the actor on another node (by resources and load, or where
/// actor_options::node pins it), and `get_actor<Type>(name)` finds a named one from any
/// process; calls of the listed methods travel to it in order. Parameters and results of the
/// listed methods must be encodable (as for WEFT_REMOTE); methods must not be overloaded. An
/// actor can be built on another node from its default constructor, or from any argument
/// types this program passes to `spawn<Type>` somewhere (each such spawn registers a factory),
/// provided the other node runs the same program.
#define WEFT_ACTOR(Type, ...)                                                                  \
  [[maybe_unused]] static const bool WEFT_DETAIL_CONCAT(weft_actor_registered_, __COUNTER__) = \
      ::weft::detail::register_actor<Type, __VA_ARGS__>(#Type, #__VA_ARGS__)

/// Gives the type `Type` (not trivially copyable, with a cereal `serialize` function, or a
/// standard container cereal knows) a codec, so that its arena objects can be spilled to disk
/// and restored, and its values can be constructor arguments of actors spawned on other nodes.
/// Parameters and results of WEFT_REMOTE functions and WEFT_ACTOR methods, and the value types
/// of refs inside values sent, get one without it. Put it at namespace scope in one source
/// file of the program (it runs at start-up); a type without a codec stays in memory.
#define WEFT_SERIALIZABLE(...)                                                                 \
  [[maybe_unused]] static const bool WEFT_DETAIL_CONCAT(weft_codec_registered_, __COUNTER__) = \
      ::weft::detail::register_codec<__VA_ARGS__>()
