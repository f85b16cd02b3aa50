// madvise(MADV_HUGEPAGE) over the aligned middle of a large buffer, and faulting a buffer in
// ahead of a full write with MADV_POPULATE_WRITE, in slices taken by the caller and a few
// short-lived helper threads. Not TBB's parallel_for: a caller may be the io thread or a
// pool task, the work is a handful of system calls, and plain threads keep the hand-offs
// visible to ThreadSanitizer (Debian's libtbb is not instrumented).

#include "weft/detail/huge_pages.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace weft::detail {
namespace {

constexpr std::uintptr_t huge = std::uintptr_t{2} << 20;

// Each thread faults in this much at a time (16 huge pages).
constexpr std::uintptr_t prefault_slice = std::uintptr_t{32} << 20;

// At most this many threads fault one buffer in (the caller included): zeroing pages is
// bounded by memory bandwidth, which a few cores saturate.
constexpr unsigned prefault_threads_max = 4;

#if defined(__linux__) && !defined(MADV_POPULATE_WRITE)
constexpr int MADV_POPULATE_WRITE = 23;  // Linux 5.14; older kernels answer EINVAL
#endif

// The whole huge pages inside [data, data + bytes), as [first, last); empty when none.
struct huge_span {
  std::uintptr_t first = 0;
  std::uintptr_t last = 0;
};

huge_span whole_huge_pages(void* data, std::size_t bytes) noexcept {
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (begin + huge - 1) & ~(huge - 1);
  const std::uintptr_t last = (begin + bytes) & ~(huge - 1);
  return last > first ? huge_span{first, last} : huge_span{};
}

}  // namespace

void advise_huge_pages(void* data, std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (data == nullptr || bytes < huge_pages_min_bytes) return;
  const auto [first, last] = whole_huge_pages(data, bytes);
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

void prefault_bulk(void* data, std::size_t bytes) noexcept {
#ifdef __linux__
  if (data == nullptr || bytes < huge_pages_min_bytes) return;
  advise_huge_pages(data, bytes);
  const auto pages = whole_huge_pages(data, bytes);
  const std::uintptr_t first = pages.first;  // named: clang 14 cannot capture bindings
  const std::uintptr_t last = pages.last;
  if (last <= first) return;
  const std::size_t slices = (last - first + prefault_slice - 1) / prefault_slice;
  std::atomic<std::size_t> next{0};
  auto populate = [&next, first, last, slices] {
    for (std::size_t i = next++; i < slices; i = next++) {
      const std::uintptr_t from = first + i * prefault_slice;
      const std::uintptr_t to = std::min(last, from + prefault_slice);
      // Advice only: refused on old kernels (EINVAL) or short of memory (ENOMEM), the
      // writes that follow fault the pages in one by one instead.
      ::madvise(reinterpret_cast<void*>(from), to - from, MADV_POPULATE_WRITE);
    }
  };
  const std::size_t helpers =
      std::min<std::size_t>(
          slices, std::clamp(std::thread::hardware_concurrency(), 1u, prefault_threads_max)) -
      1;
  std::vector<std::thread> threads;
  try {
    threads.reserve(helpers);
    for (std::size_t i = 0; i < helpers; ++i)
      threads.emplace_back(populate);
  } catch (...) {
    // No helper (or fewer): the caller takes the remaining slices itself.
  }
  populate();
  for (std::thread& t : threads)
    t.join();
#else
  (void)data;
  (void)bytes;
#endif
}

}  // namespace weft::detail
