#pragma once
/// \file
/// weft::config: the plain settings a runtime is built from, filled in code or from WEFT_*
/// environment variables.

#include <cstdint>
#include <map>
#include <string>

namespace weft {

/// Capacity (or demand) per named resource, e.g. `{{"gpu", 2}, {"mem_gb", 16}}`.
using resource_map = std::map<std::string, std::int64_t>;

/// Settings of one runtime. Plain data: fill the fields you care about, keep the defaults for
/// the rest. `runtime` validates it and throws `config_error` naming the bad field.
struct config {
  /// Worker threads of the runtime's TBB arena; 0 means the machine's hardware concurrency.
  unsigned threads = 0;

  /// Capacity of each named resource that tasks may request with `task_options::resources`.
  /// Every capacity must be positive.
  resource_map resources{};

  /// Namespace for named things (named actors, in later layers); "default" unless set.
  std::string namespace_ = "default";

  /// Reads WEFT_THREADS (a non-negative integer), WEFT_RESOURCES (`name=count,...`, counts
  /// positive) and WEFT_NAMESPACE. Unset variables keep the defaults; a malformed value throws
  /// `config_error` naming the variable and the value.
  static config from_env();

  /// Checks every field and throws `config_error` naming the first bad one. Runtimes call this.
  void validate() const;
};

/// Parses a resource list such as `gpu=2,mem_gb=16` into a map. `origin` names where the text
/// came from (e.g. "WEFT_RESOURCES") for the error message. Throws `config_error`.
resource_map parse_resources(const std::string& text, const std::string& origin);

}  // namespace weft
