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

/// Advises huge pages over [data, data + bytes) and faults that memory in now, the caller
/// and up to three helper threads at once, for a buffer about to be written in full. One thread
/// writing into fresh memory takes a page fault per page; faulting in ahead of the write, in
/// parallel, took a GiB from 340 to about 175 ms (fault + copy) on the benchmark machine. Does
/// nothing to small buffers or off Linux; memory already present costs next to nothing.
void prefault_bulk(void* data, std::size_t bytes) noexcept;

/// Gives `container` (a std::vector or std::basic_string) room for `count` elements, advised
/// for huge pages and faulted in when large (the caller fills all of it next), without
/// constructing any.
template <class Container>
void reserve_bulk(Container& container, std::size_t count) {
  container.reserve(count);
  prefault_bulk(container.data(), count * sizeof(*container.data()));
}

}  // namespace weft::detail
