// Registration, lookup and removal of a runtime's actors.

#include "live_actors.hpp"

#include <cxxabi.h>
#include <fmt/core.h>

#include <cstdlib>
#include <memory>

#include "weft/detail/actor_base.hpp"
#include "weft/errors.hpp"

namespace weft::detail {

std::string type_name(const std::type_info& type) {
  return demangle(type.name());
}

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> name(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}

std::string live_actors::key_of(const std::string& name, const std::string& ns) {
  std::string key = ns;
  key += '\0';
  key += name;
  return key;
}

actor_base* live_actors::add(actor_base& actor, bool get_existing) {
  std::lock_guard lock(mutex_);
  if (closed_) {
    throw error(fmt::format("spawn of {} rejected: the runtime is shut down", actor.describe()));
  }
  if (!actor.name().empty() && !actor.is_proxy()) {  // a stand-in's name lives elsewhere
    auto [it, inserted] = named_.try_emplace(key_of(actor.name(), actor.name_space()), &actor);
    if (!inserted) {
      actor_base* other = it->second;
      if (!get_existing) {
        throw error(fmt::format(
            "an actor named '{}' already exists in namespace '{}'; look it up with get_actor, "
            "use get_or_spawn to share it, or kill it first",
            actor.name(), actor.name_space()));
      }
      if (other->type() != actor.type()) {
        throw error(fmt::format(
            "get_or_spawn: the actor named '{}' in namespace '{}' is a {}, not a {}", actor.name(),
            actor.name_space(), type_name(other->type()), type_name(actor.type())));
      }
      if (other->try_add_handle()) {
        other->retain();
        return other;
      }
      it->second = &actor;  // the other one is ending; its name is free
    }
  }
  all_.insert(&actor);
  actor.retain();
  return nullptr;
}

actor_base* live_actors::try_find(const std::string& name, const std::string& ns,
                                  const std::type_info& type) {
  std::lock_guard lock(mutex_);
  auto it = named_.find(key_of(name, ns));
  if (it == named_.end()) return nullptr;
  actor_base* found = it->second;
  if (found->type() != type) {
    throw error(fmt::format("the actor named '{}' in namespace '{}' is a {}, not a {}", name, ns,
                            type_name(found->type()), type_name(type)));
  }
  if (!found->try_add_handle()) return nullptr;
  found->retain();
  return found;
}

error no_actor_named(const std::string& name, const std::string& ns) {
  return error(fmt::format(
      "no live actor named '{}' in namespace '{}' (never spawned, killed, or ended)", name, ns));
}

void live_actors::forget_name_locked(const actor_base& actor) {
  if (actor.name().empty()) return;
  auto it = named_.find(key_of(actor.name(), actor.name_space()));
  if (it != named_.end() && it->second == &actor) named_.erase(it);
}

void live_actors::forget_name(const actor_base& actor) {
  std::lock_guard lock(mutex_);
  forget_name_locked(actor);
}

void live_actors::remove(actor_base& actor) {
  bool was_registered = false;
  {
    std::lock_guard lock(mutex_);
    forget_name_locked(actor);
    was_registered = all_.erase(&actor) == 1;
  }
  if (was_registered) actor.release();
}

std::vector<actor_base*> live_actors::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  std::vector<actor_base*> out(all_.begin(), all_.end());
  for (auto* a : out)
    a->retain();
  return out;
}

std::size_t live_actors::size() const {
  std::lock_guard lock(mutex_);
  return all_.size();
}

}  // namespace weft::detail
