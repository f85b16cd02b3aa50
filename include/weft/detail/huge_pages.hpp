#pragma once
/// \file
/// Large buffers backed by huge pages. On a virtual machine, first touching a GiB of fresh
/// memory in 4 KiB pages costs seconds (262,144 page faults, each a trip to the hypervisor);
/// in 2 MiB pages it takes 512 faults and about a tenth of a second. Objects that arrive
/// from the network or the spill store land in memory allocated just for them, so their
/// buffers ask for huge pages before the first byte is written.

#include <cstddef>

namespace weft::detail {

/// Buffers smaller than this are left alone (huge pages pay off only on many of them).
inline constexpr std::size_t huge_pages_min_bytes = std::size_t{32} << 20;

/// Advises the kernel to back the whole 2 MiB pages inside [data, data + bytes) with huge
/// pages. Meant for memory not touched yet; advice only (nothing changes where refused, on
/// small buffers, or off Linux).
void advise_huge_pages(void* data, std::size_t bytes) noexcept;

/// Gives `container` (a std::vector or std::basic_string) room for `count` elements, advised
/// for huge pages when large, without constructing any.
template <class Container>
void reserve_bulk(Container& container, std::size_t count) {
  container.reserve(count);
  advise_huge_pages(container.data(), container.capacity() * sizeof(*container.data()));
}

}  // namespace weft::detail
