// The process's directory of functions registered with WEFT_REMOTE.

#include <algorithm>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "log.hpp"
#include "weft/detail/remote_function.hpp"

namespace weft::detail {
namespace {

struct directory {
  std::shared_mutex mutex;
  // Entries are never removed, so pointers to them stay valid.
  std::map<std::string, remote_function, std::less<>> by_name;
  std::unordered_map<any_function, const remote_function*> by_address;
};

// Built on first use, so registrations from any translation unit's static initialisation
// find it ready; never destroyed, so late lookups during exit stay safe.
directory& the_directory() {
  static auto* d = new directory;
  return *d;
}

}  // namespace

void register_remote_function(remote_function f) noexcept {
  try {
    directory& d = the_directory();
    std::unique_lock lock(d.mutex);
    auto found = d.by_name.find(f.name);
    if (found != d.by_name.end()) {
      if (found->second.address != f.address) {
        log(log_level::error,
            "WEFT_REMOTE({}): another function is already registered under this name; the "
            "first registration stays. Give one of them a different name",
            f.name);
      }
      return;
    }
    std::string name = f.name;
    auto [at, inserted] = d.by_name.emplace(std::move(name), std::move(f));
    d.by_address.emplace(at->second.address, &at->second);
  } catch (...) {
    log_line(log_level::error, "WEFT_REMOTE: out of memory while registering a function");
  }
}

const remote_function* find_remote_function(any_function address) noexcept {
  directory& d = the_directory();
  std::shared_lock lock(d.mutex);
  auto found = d.by_address.find(address);
  return found == d.by_address.end() ? nullptr : found->second;
}

const remote_function* find_remote_function(std::string_view name) noexcept {
  directory& d = the_directory();
  std::shared_lock lock(d.mutex);
  auto found = d.by_name.find(name);
  return found == d.by_name.end() ? nullptr : &found->second;
}

std::vector<std::string> remote_function_names() {
  directory& d = the_directory();
  std::shared_lock lock(d.mutex);
  std::vector<std::string> names;
  names.reserve(d.by_name.size());
  for (const auto& entry : d.by_name)
    names.push_back(entry.first);
  return names;
}

}  // namespace weft::detail
