#pragma once
// Test helper: environment variables set for one scope and unset at its end.

#include <cstdlib>
#include <initializer_list>
#include <utility>
#include <vector>

namespace weft_test {

/// Sets each name=value for the scope's life; unsets them all when it ends.
struct env_scope {
  explicit env_scope(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (auto& [k, v] : vars) {
      names.push_back(k);
      setenv(k, v, 1);
    }
  }
  ~env_scope() {
    for (auto* k : names)
      unsetenv(k);
  }
  env_scope(const env_scope&) = delete;
  env_scope& operator=(const env_scope&) = delete;
  std::vector<const char*> names;
};

}  // namespace weft_test
