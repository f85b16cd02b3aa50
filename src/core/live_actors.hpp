#pragma once
// Every live actor of a runtime (so shutdown can stop them all) and the names of the named
// ones, per namespace. The registry holds one reference to each actor until the actor ends.

#include <cstddef>
#include <mutex>
#include <string>
#include <typeinfo>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "weft/errors.hpp"

namespace weft::detail {

class actor_base;

/// Live actors and their names.
class live_actors {
 public:
  /// Registers `actor`. If its name is taken in its namespace: with `get_existing`, returns the
  /// live actor of that name (a reference and a handle added; weft::error if its type is not
  /// `actor`'s); without, throws weft::error. Throws weft::error once the registry is closed.
  actor_base* add(actor_base& actor, bool get_existing);
  /// The live actor named `name` in `ns`, with a reference and a handle added, or nullptr if
  /// there is none. Throws weft::error if it is not a `type`.
  actor_base* try_find(const std::string& name, const std::string& ns, const std::type_info& type);
  /// Frees the name of `actor` (if it still holds it) so another actor may take it.
  void forget_name(const actor_base& actor);
  /// Removes an ended actor and drops the registry's reference to it.
  void remove(actor_base& actor);
  /// Refuses further actors and returns every registered one, each with a reference added.
  std::vector<actor_base*> close();
  /// Number of registered (started, not ended) actors.
  std::size_t size() const;

 private:
  static std::string key_of(const std::string& name, const std::string& ns);
  void forget_name_locked(const actor_base& actor);

  mutable std::mutex mutex_;
  bool closed_ = false;
  std::unordered_map<std::string, actor_base*> named_;
  std::unordered_set<actor_base*> all_;
};

/// The error for a lookup of a name no live actor has.
error no_actor_named(const std::string& name, const std::string& ns);
/// A readable name of a type (demangled), for messages.
std::string type_name(const std::type_info& type);
/// A readable form of a mangled type name (as from std::type_info::name()).
std::string demangle(const char* mangled);

}  // namespace weft::detail
