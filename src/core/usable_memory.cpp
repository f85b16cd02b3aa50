// sysconf's physical pages, bounded by /sys/fs/cgroup/memory.max when that holds a number.

#include "usable_memory.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "text.hpp"

namespace weft::detail {
namespace {

constexpr std::uint64_t unknown_memory = std::uint64_t{1} << 30;

// The cgroup v2 limit of the process's own group as mounted in its namespace, or 0 when
// there is none ("max", no cgroup v2, or unreadable).
std::uint64_t cgroup_limit() noexcept {
  try {
    std::ifstream in("/sys/fs/cgroup/memory.max");
    std::string text;
    if (!in || !std::getline(in, text)) return 0;
    std::uint64_t bytes = 0;
    return parse_int(text, bytes) ? bytes : 0;
  } catch (...) {
    return 0;
  }
}

}  // namespace

std::uint64_t usable_memory_bytes() noexcept {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGE_SIZE);
  std::uint64_t bytes = pages > 0 && page > 0
                            ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
                            : unknown_memory;
  if (const std::uint64_t limit = cgroup_limit(); limit > 0) bytes = std::min(bytes, limit);
  return bytes;
}

}  // namespace weft::detail
