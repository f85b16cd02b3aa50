#pragma once
/// \file
/// The directory of actor types registered with WEFT_ACTOR: their stable names, their methods
/// (matched by member pointer on the caller's side, by name on the owner's), and factories that
/// build an actor from encoded constructor arguments. In a cluster this is what lets an actor
/// live in another process; in-process runtimes never look at it.
///
/// A factory exists for each (type, constructor argument types) pair a program spawns with
/// encodable arguments, plus the default constructor of every registered type: a `spawn` in
/// the program's source is what makes the same spawn possible on another node running it.

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "weft/detail/remote_function.hpp"
#include "weft/detail/wire_value.hpp"
#include "weft/options.hpp"

namespace weft {
template <class T>
class actor;
template <class T>
class ref;
}  // namespace weft

namespace weft::detail {

class actor_base;
class runtime_core;

/// The encoded arguments of a call or spawn that arrived from another node: one span per
/// parameter, what keeps their bytes alive, and where the refs and actor handles inside them
/// come from (null when there are none).
struct arrived_arguments {
  std::vector<std::span<const std::byte>> values;
  std::vector<std::shared_ptr<const void>> keep;
  std::shared_ptr<handle_source> handles;
};

/// Queues a call of one registered method on a local actor from encoded arguments; the ref
/// completes with the encoded result. `gate`, when given, is a ref the call waits for (the
/// arrival of arguments pulled from other nodes), so calls still start in arrival order.
using method_invoker = ref<std::shared_ptr<wire_value>> (*)(
    actor_base& cell, std::shared_ptr<const arrived_arguments> arguments, const ref<bool>* gate,
    const task_options& options);

/// One method of a registered actor type.
struct actor_method {
  /// `name` is "Type::method", what messages and the wire call it; `invoke` is unused.
  remote_function function;
  /// The type of the member pointer (to match a caller's pointer against this method).
  const std::type_info* pointer_type = nullptr;
  /// True when `*pointer`, a member pointer of type `pointer_type`, designates this method.
  bool (*matches)(const void* pointer) = nullptr;
  /// Runs the method on a local actor for a remote caller.
  method_invoker invoke = nullptr;
};

/// One actor type registered with WEFT_ACTOR.
struct actor_type {
  std::string name;                      ///< The stable name (the macro's first argument).
  const std::type_info* type = nullptr;  ///< The C++ type.
  std::vector<actor_method> methods;     ///< In the order the macro lists them.
};

/// Builds and starts a local actor from encoded constructor arguments (decoded when it is
/// constructed, after `gate`, if given, is ready; a failed gate or undecodable arguments make
/// the actor die with the reason); returns its cell with one reference and one handle for the
/// caller. Throws weft::error for invalid options.
using actor_factory = actor_base* (*)(runtime_core* core, const actor_options& options,
                                      std::shared_ptr<const arrived_arguments> arguments,
                                      const ref<bool>* gate);

/// Adds an actor type (at static initialisation). `method_list` is the macro's text of the
/// method pointers ("&T::a, &T::b"), which names the methods in order. A second registration
/// of the same name is refused with a logged error; the first one stays.
void register_actor_type(const char* name, const char* method_list, const std::type_info& type,
                         std::vector<actor_method> methods) noexcept;
/// The registered actor type whose C++ type is `type`, or nullptr.
const actor_type* find_actor_type(const std::type_info& type) noexcept;
/// The registered actor type named `name`, or nullptr.
const actor_type* find_actor_type(std::string_view name) noexcept;
/// The names of every registered actor type, sorted.
std::vector<std::string> actor_type_names();
/// The method of `type` named `name` ("Type::method"), or nullptr.
const actor_method* find_actor_method(const actor_type& type, std::string_view name) noexcept;

/// Records a factory under `key` (see factory_key); the first registration of a key stays.
bool register_actor_factory(std::string key, actor_factory factory) noexcept;
/// The factory recorded under `key`, or nullptr.
actor_factory find_actor_factory(std::string_view key) noexcept;

/// The key of the factory building a T from arguments of types S...
template <class T, class... S>
std::string factory_key() {
  return std::string(typeid(T).name()) + "(" + typeid(std::tuple<S...>).name() + ")";
}

/// The registered method of T that `method` points to, or nullptr.
template <class T, class M>
const actor_method* find_method_of(const M& method) noexcept {
  const actor_type* type = find_actor_type(typeid(T));
  if (type == nullptr) return nullptr;
  for (const actor_method& m : type->methods)
    if (*m.pointer_type == typeid(M) && m.matches(&method)) return &m;
  return nullptr;
}

/// Releases the handle `a` into its cell (one reference and one handle, for the caller).
template <class T>
actor_base* release_handle(actor<T>&& a) noexcept;

template <class T, class... A>
actor<T> spawn_local(runtime_core* core, const actor_options& options, bool get_existing,
                     A&&... args);

/// Creates a local actor of type T whose constructor arguments S... are decoded from
/// `arguments` when it is constructed (after `gate`, if given); see actor_cell.hpp.
template <class T, class... S>
actor_base* spawn_arrived(runtime_core* core, const actor_options& options,
                          std::shared_ptr<const arrived_arguments> arguments,
                          const ref<bool>* gate);

/// The factory of a T built from arguments S... (all encodable); registered once the template
/// is used, at static initialisation.
template <class T, class... S>
struct actor_factory_of {
  static actor_base* make(runtime_core* core, const actor_options& options,
                          std::shared_ptr<const arrived_arguments> arguments,
                          const ref<bool>* gate) {
    return spawn_arrived<T, S...>(core, options, std::move(arguments), gate);
  }
  static const bool registered;
};
template <class T, class... S>
const bool actor_factory_of<T, S...>::registered =
    register_actor_factory(factory_key<T, S...>(), &actor_factory_of<T, S...>::make);

/// What a spawn argument of type A stands for on the node that builds the actor: a ref's
/// value type (the value travels, or the receiver asks for it once ready), else A itself.
template <class A>
using spawn_value_t = typename stored_value<std::decay_t<A>>::type;

/// True when a spawn argument of type A can be sent to another node.
template <class A>
inline constexpr bool wire_spawn_argument_v =
    !std::is_void_v<spawn_value_t<A>> && wire_type_v<spawn_value_t<A>>;

/// True when a spawn with arguments A... can be sent to another node.
template <class... A>
inline constexpr bool wire_spawn_v = (wire_spawn_argument_v<A> && ...);

template <class T, auto Method>
ref<std::shared_ptr<wire_value>> invoke_method(actor_base& cell,
                                               std::shared_ptr<const arrived_arguments> arguments,
                                               const ref<bool>* gate, const task_options& options);

/// A spawn in a cluster, as the node deciding where it goes sees it.
struct cluster_spawn_request {
  const std::type_info* type = nullptr;
  const actor_options* options = nullptr;
  bool get_existing = false;
  /// The factory key for this spawn's argument types, empty when they cannot travel.
  std::string factory;
  /// Encodes the constructor arguments (empty when they cannot travel).
  std::function<std::shared_ptr<wire_value>()> encode;
  /// Spawns the actor here (as spawn_local) and returns its cell.
  std::function<actor_base*()> spawn_here;
};

/// Places a spawn in `core`'s cluster: here, on another node (returning a stand-in whose calls
/// go there), or, for get_or_spawn of a taken name, the existing actor wherever it lives.
/// Returns a cell with one reference and one handle for the caller.
actor_base* spawn_in_cluster(runtime_core* core, cluster_spawn_request& request);

}  // namespace weft::detail
