// The process's directory of actor types registered with WEFT_ACTOR, and of the factories that
// build them from encoded constructor arguments.

#include "weft/detail/actor_types.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <typeindex>
#include <unordered_map>

#include "log.hpp"
#include "runtime_core.hpp"

namespace weft::detail {
namespace {

struct directory {
  std::shared_mutex mutex;
  // Entries are never removed, so pointers to them stay valid.
  std::map<std::string, std::unique_ptr<actor_type>, std::less<>> by_name;
  std::unordered_map<std::type_index, const actor_type*> by_type;
  std::map<std::string, actor_factory, std::less<>> factories;
};

// Built on first use and never destroyed, like the function directory.
directory& the_directory() {
  static auto* d = new directory;
  return *d;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '&' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n'))
    s.remove_suffix(1);
  return std::string(s);
}

// "&T::a, &ns::T::b" -> {"a", "b"}: the text after the last "::" of each pointer.
std::vector<std::string> method_names(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string item = trim(list.substr(0, comma));
    const std::size_t scope = item.rfind("::");
    out.push_back(scope == std::string::npos ? item : item.substr(scope + 2));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

void register_actor_type(const char* name, const char* method_list, const std::type_info& type,
                         std::vector<actor_method> methods) noexcept {
  try {
    const std::vector<std::string> names = method_names(method_list);
    if (names.size() != methods.size()) {
      log(log_level::error, "WEFT_ACTOR({}, {}): cannot tell the method names apart", name,
          method_list);
      return;
    }
    auto entry = std::make_unique<actor_type>();
    entry->name = name;
    entry->type = &type;
    entry->methods = std::move(methods);
    for (std::size_t i = 0; i < names.size(); ++i)
      entry->methods[i].function.name = entry->name + "::" + names[i];
    directory& d = the_directory();
    std::unique_lock lock(d.mutex);
    auto found = d.by_name.find(entry->name);
    if (found != d.by_name.end()) {
      if (*found->second->type != type) {
        log(log_level::error,
            "WEFT_ACTOR({}): another type is already registered under this name; the first "
            "registration stays",
            name);
      }
      return;
    }
    d.by_type.emplace(std::type_index(type), entry.get());
    d.by_name.emplace(entry->name, std::move(entry));
  } catch (...) {
    log_line(log_level::error, "WEFT_ACTOR: out of memory while registering an actor type");
  }
}

const actor_type* find_actor_type(const std::type_info& type) noexcept {
  directory& d = the_directory();
  std::shared_lock lock(d.mutex);
  auto found = d.by_type.find(std::type_index(type));
  return found == d.by_type.end() ? nullptr : found->second;
}

const actor_type* find_actor_type(std::string_view name) noexcept {
  directory& d = the_directory();
  std::shared_lock lock(d.mutex);
  auto found = d.by_name.find(name);
  return found == d.by_name.end() ? nullptr : found->second.get();
}

std::vector<std::string> actor_type_names() {
  directory& d = the_directory();
  std::shared_lock lock(d.mutex);
  std::vector<std::string> names;
  for (const auto& entry : d.by_name)
    names.push_back(entry.first);
  return names;
}

const actor_method* find_actor_method(const actor_type& type, std::string_view name) noexcept {
  for (const actor_method& m : type.methods)
    if (m.function.name == name) return &m;
  return nullptr;
}

bool register_actor_factory(std::string key, actor_factory factory) noexcept {
  try {
    directory& d = the_directory();
    std::unique_lock lock(d.mutex);
    d.factories.emplace(std::move(key), factory);
  } catch (...) {
    log_line(log_level::error, "weft: out of memory while registering an actor factory");
  }
  return true;
}

actor_factory find_actor_factory(std::string_view key) noexcept {
  directory& d = the_directory();
  std::shared_lock lock(d.mutex);
  auto found = d.factories.find(key);
  return found == d.factories.end() ? nullptr : found->second;
}

actor_base* spawn_in_cluster(runtime_core* core, cluster_spawn_request& request) {
  return core->router()->spawn_actor(request);
}

}  // namespace weft::detail
