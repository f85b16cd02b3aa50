#pragma once
/// \file
/// weft::config: the plain settings a runtime is built from, filled in code or from WEFT_*
/// environment variables.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "weft/cluster_settings.hpp"

namespace weft {

class spill_store;

/// Capacity (or demand) per named resource, e.g. `{{"gpu", 2}, {"mem_gb", 16}}`.
using resource_map = std::map<std::string, std::int64_t>;

/// The port a head serves its metrics on when config::metrics_port is unset (Ray's dashboard
/// port).
inline constexpr unsigned default_head_metrics_port = 8265;

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

  /// Memory budget of the object arena in bytes; over it, objects nobody is reading are spilled
  /// (least recently used first). 0 means 30% of the machine's physical memory (or of
  /// the cgroup v2 memory.max when lower, as in a container).
  std::uint64_t arena_bytes = 0;

  /// The most bytes of freed large blocks (weft::bulk_vector, pulled objects) kept for reuse
  /// by the process-wide bulk pool (see weft/bulk_allocator.hpp); unset keeps the pool's
  /// limit (an eighth of physical memory, or of the cgroup limit, unless set before), 0 keeps
  /// nothing.
  std::optional<std::uint64_t> retained_bytes{};

  /// Directory under which spill files go: a fresh subdirectory is made in it at the first
  /// spill and removed when the runtime is shut down and no spilled object is left. Empty
  /// means the system temporary directory ($TMPDIR, else /tmp).
  std::string spill_dir{};

  /// Where spilled objects are stored; null means files under `spill_dir`. Set it to plug in
  /// another backend (see weft/spill_store.hpp).
  std::shared_ptr<spill_store> spill_backend{};

  /// Whether and how the runtime joins a cluster; the defaults keep it in-process.
  cluster_settings cluster{};
  /// The HTTP port this runtime serves its metrics on (`GET /metrics`, Prometheus text
  /// format); 0 lets the system choose one (runtime::metrics_port() tells which). Unset, a head
  /// serves on default_head_metrics_port when that port is free, and nothing else serves.
  /// With a cluster token, requests must carry `Authorization: Bearer <token>`.
  std::optional<unsigned> metrics_port{};

  /// Reads WEFT_METRICS_PORT (a port), WEFT_THREADS (a non-negative integer), WEFT_RESOURCES
  /// (`name=count,...`, counts positive), WEFT_NAMESPACE, WEFT_ARENA_BYTES (a size such as `512M`
  /// or `4G`), WEFT_RETAINED_BYTES (a size, or 0) and WEFT_SPILL_DIR, and the cluster variables of
  /// cluster_settings::from_env (WEFT_ADDRESS, WEFT_ROLE, WEFT_TOKEN, ...). Unset variables keep
  /// the defaults; a malformed value throws `config_error` naming the variable and the value.
  static config from_env();

  /// Checks every field and throws `config_error` naming the first bad one. Runtimes call this.
  void validate() const;
};

/// Parses a resource list such as `gpu=2,mem_gb=16` into a map. `origin` names where the text
/// came from (e.g. "WEFT_RESOURCES") for the error message. Throws `config_error`.
resource_map parse_resources(const std::string& text, const std::string& origin);

/// Parses a byte size: an integer with an optional binary unit K, M, G or T (also KiB, MiB, GiB,
/// TiB; case-insensitive), e.g. `512M` = 536870912. Throws `config_error` naming `origin` for
/// anything else, for zero, and for values that do not fit in 64 bits.
std::uint64_t parse_bytes(const std::string& text, const std::string& origin);

}  // namespace weft
