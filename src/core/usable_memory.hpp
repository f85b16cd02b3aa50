#pragma once
// How much memory this process may use: the machine's RAM, or less where a control group
// (cgroup v2 memory.max, as in a container) sets a lower limit. The defaults of the arena's
// budget and of the bulk pool's retained limit are fractions of it.

#include <cstdint>

namespace weft::detail {

/// The memory this process may use, in bytes; 1 GiB when the system does not say.
std::uint64_t usable_memory_bytes() noexcept;

}  // namespace weft::detail
