#pragma once
/// \file
/// weft::bulk_allocator and weft::bulk_vector: memory for large contiguous values (big
/// vectors of numbers, byte buffers) that a program makes, sends or receives again and again.
///
/// Blocks of `bulk_min_bytes` or more come from a process-wide pool: fresh blocks are mapped
/// in 2 MiB huge pages, and freed blocks are kept (up to `bulk_retained_limit()` bytes in all)
/// and handed out again already mapped. Receiving a 1 GiB object into fresh memory otherwise
/// costs the kernel (and, on a virtual machine, the hypervisor) a page fault per 4 KiB, which
/// can take longer than the transfer itself. Smaller blocks come from operator new.
///
/// weft uses the same pool for the bytes it pulls from other nodes and for large frames.
/// A bulk_vector is sent, spilled and restored like a std::vector of the same elements (its
/// bytes as they are), and decoding one copies the payload straight into pooled memory.

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace weft {

/// Blocks at least this large come from the bulk pool.
inline constexpr std::size_t bulk_min_bytes = std::size_t{4} << 20;

/// What the bulk pool holds and has done, process-wide.
struct bulk_memory_stats {
  /// Bytes of freed blocks kept for reuse now.
  std::uint64_t retained_bytes = 0;
  /// The most it keeps (bulk_retained_limit()).
  std::uint64_t retained_limit = 0;
  /// Bytes of pooled blocks in use now.
  std::uint64_t in_use_bytes = 0;
  /// Blocks mapped fresh from the system so far.
  std::uint64_t blocks_mapped = 0;
  /// Blocks handed out again from the kept ones so far.
  std::uint64_t blocks_reused = 0;
};

/// The bulk pool's counters now.
bulk_memory_stats bulk_memory();

/// The most bytes of freed blocks the pool keeps: by default an eighth of the machine's
/// physical memory (or of its cgroup v2 memory.max when lower); set by config::retained_bytes
/// (WEFT_RETAINED_BYTES).
std::uint64_t bulk_retained_limit() noexcept;

/// Sets that limit for the whole process; blocks kept beyond it are returned to the system at
/// once. 0 keeps nothing.
void set_bulk_retained_limit(std::uint64_t bytes);

namespace detail {
/// `bytes` bytes aligned for any element type, from the pool when large; throws
/// std::bad_alloc.
void* bulk_allocate(std::size_t bytes);
/// Returns a block from bulk_allocate(bytes).
void bulk_deallocate(void* block, std::size_t bytes) noexcept;
}  // namespace detail

/// A standard allocator over the bulk pool. Stateless: all instances are interchangeable.
template <class T>
struct bulk_allocator {
  using value_type = T;
  bulk_allocator() = default;
  template <class U>
  bulk_allocator(const bulk_allocator<U>&) noexcept {}
  /// Room for `n` Ts (not constructed).
  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__,
                  "weft::bulk_allocator: over-aligned element types are not supported");
    return static_cast<T*>(detail::bulk_allocate(n * sizeof(T)));
  }
  /// Gives back room for `n` Ts from allocate(n).
  void deallocate(T* p, std::size_t n) noexcept { detail::bulk_deallocate(p, n * sizeof(T)); }
  template <class U>
  friend bool operator==(const bulk_allocator&, const bulk_allocator<U>&) noexcept {
    return true;
  }
};

/// A std::vector whose memory comes from the bulk pool.
template <class T>
using bulk_vector = std::vector<T, bulk_allocator<T>>;

}  // namespace weft
