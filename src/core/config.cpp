// weft::config: parsing WEFT_* variables and validating fields.

#include "weft/config.hpp"

#include <fmt/core.h>

#include <cstdlib>
#include <limits>
#include <string_view>

#include "text.hpp"
#include "weft/errors.hpp"

namespace weft {
namespace {

using detail::parse_int;
using detail::trim;

// Largest thread count accepted; far above any machine, low enough to catch typos like 1e9.
constexpr unsigned max_threads = 4096;

// Multiplier of a size unit (K, KiB, KB, ...), or 0 if `unit` is not one.
std::uint64_t unit_multiplier(std::string_view unit) {
  std::string u;
  for (char c : unit)
    u += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  if (u.empty() || u == "B") return 1;
  const char* prefixes = "KMGT";
  for (int i = 0; i < 4; ++i) {
    std::string p(1, prefixes[i]);
    if (u == p || u == p + "B" || u == p + "IB") return std::uint64_t{1} << (10 * (i + 1));
  }
  return 0;
}

}  // namespace

std::uint64_t parse_bytes(const std::string& text, const std::string& origin) {
  std::string_view t = trim(text);
  std::size_t digits = 0;
  while (digits < t.size() && t[digits] >= '0' && t[digits] <= '9')
    ++digits;
  std::uint64_t count = 0;
  std::uint64_t unit = unit_multiplier(trim(t.substr(digits)));
  if (digits == 0 || !parse_int(t.substr(0, digits), count) || unit == 0) {
    throw config_error(fmt::format(
        "{}='{}' is not a size (expected an integer with an optional unit K, M, G or T, e.g. "
        "512M or 4G)",
        origin, text));
  }
  if (count == 0)
    throw config_error(fmt::format("{}='{}': the size must be positive", origin, text));
  if (count > std::numeric_limits<std::uint64_t>::max() / unit)
    throw config_error(fmt::format("{}='{}' does not fit in 64 bits", origin, text));
  return count * unit;
}

resource_map parse_resources(const std::string& text, const std::string& origin) {
  resource_map out;
  std::string_view rest = text;
  if (trim(rest).empty()) return out;
  while (true) {
    std::size_t comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      throw config_error(
          fmt::format("{}='{}': item '{}' is not name=count (expected e.g. gpu=2,mem_gb=16)",
                      origin, text, item));
    }
    std::string name(trim(item.substr(0, eq)));
    std::string_view count_text = trim(item.substr(eq + 1));
    std::int64_t count = 0;
    if (name.empty()) {
      throw config_error(
          fmt::format("{}='{}': item '{}' has an empty resource name", origin, text, item));
    }
    if (!parse_int(count_text, count)) {
      throw config_error(fmt::format("{}='{}': count '{}' of resource '{}' is not an integer",
                                     origin, text, count_text, name));
    }
    if (count <= 0) {
      throw config_error(
          fmt::format("{}='{}': resource '{}' has capacity {}; capacities must be positive", origin,
                      text, name, count));
    }
    if (!out.emplace(name, count).second) {
      throw config_error(fmt::format("{}='{}': resource '{}' is listed twice", origin, text, name));
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

config config::from_env() {
  config cfg;
  if (const char* v = std::getenv("WEFT_THREADS")) {
    unsigned threads = 0;
    if (!parse_int(v, threads) || threads > max_threads) {
      throw config_error(fmt::format(
          "WEFT_THREADS='{}' is not a thread count (an integer from 0 to {}; 0 means one per "
          "hardware thread)",
          v, max_threads));
    }
    cfg.threads = threads;
  }
  if (const char* v = std::getenv("WEFT_RESOURCES"))
    cfg.resources = parse_resources(v, "WEFT_RESOURCES");
  if (const char* v = std::getenv("WEFT_NAMESPACE")) {
    if (trim(v).empty())
      throw config_error("WEFT_NAMESPACE is set but empty; unset it or give a name");
    cfg.namespace_ = v;
  }
  if (const char* v = std::getenv("WEFT_ARENA_BYTES"))
    cfg.arena_bytes = parse_bytes(v, "WEFT_ARENA_BYTES");
  if (const char* v = std::getenv("WEFT_RETAINED_BYTES"))
    cfg.retained_bytes = trim(v) == "0" ? 0 : parse_bytes(v, "WEFT_RETAINED_BYTES");
  if (const char* v = std::getenv("WEFT_SPILL_DIR")) {
    if (trim(v).empty())
      throw config_error("WEFT_SPILL_DIR is set but empty; unset it or give a directory");
    cfg.spill_dir = v;
  }
  if (const char* v = std::getenv("WEFT_METRICS_PORT")) {
    unsigned port = 0;
    if (!parse_int(v, port) || port > 65535) {
      throw config_error(fmt::format(
          "WEFT_METRICS_PORT='{}' is not a port (an integer from 0 to 65535; 0 lets the system "
          "choose one)",
          v));
    }
    cfg.metrics_port = port;
  }
  cfg.cluster = cluster_settings::from_env();
  cfg.validate();
  return cfg;
}

void config::validate() const {
  if (metrics_port && *metrics_port > 65535) {
    throw config_error(fmt::format(
        "config.metrics_port = {} is not a port (0 to 65535; 0 lets the system choose one)",
        *metrics_port));
  }
  if (threads > max_threads) {
    throw config_error(
        fmt::format("config.threads = {} is above the limit of {}", threads, max_threads));
  }
  for (const auto& [name, capacity] : resources) {
    if (name.empty()) throw config_error("config.resources has an entry with an empty name");
    if (capacity <= 0) {
      throw config_error(
          fmt::format("config.resources['{}'] = {}: capacities must be positive", name, capacity));
    }
  }
  if (namespace_.empty()) throw config_error("config.namespace_ is empty; give a name");
  cluster.validate();
}

}  // namespace weft
