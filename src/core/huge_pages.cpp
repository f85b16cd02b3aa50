// madvise(MADV_HUGEPAGE) over the aligned middle of a large buffer, and faulting a buffer in
// ahead of a full write with MADV_POPULATE_WRITE, in slices on the TBB pool.

#include "weft/detail/huge_pages.hpp"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <cstdint>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace weft::detail {
namespace {

constexpr std::uintptr_t huge = std::uintptr_t{2} << 20;

// Each thread faults in this much at a time (16 huge pages).
constexpr std::uintptr_t prefault_slice = std::uintptr_t{32} << 20;

#if defined(__linux__) && !defined(MADV_POPULATE_WRITE)
constexpr int MADV_POPULATE_WRITE = 23;  // Linux 5.14; older kernels answer EINVAL
#endif

}  // namespace

void advise_huge_pages(void* data, std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (data == nullptr || bytes < huge_pages_min_bytes) return;
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (begin + huge - 1) & ~(huge - 1);
  const std::uintptr_t last = (begin + bytes) & ~(huge - 1);
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
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (begin + huge - 1) & ~(huge - 1);
  const std::uintptr_t last = (begin + bytes) & ~(huge - 1);
  if (last <= first) return;
  const std::size_t slices = (last - first + prefault_slice - 1) / prefault_slice;
  auto populate = [&](const oneapi::tbb::blocked_range<std::size_t>& range) {
    for (std::size_t i = range.begin(); i != range.end(); ++i) {
      const std::uintptr_t from = first + i * prefault_slice;
      const std::uintptr_t to = std::min(last, from + prefault_slice);
      // Advice only: refused on old kernels (EINVAL) or short of memory (ENOMEM), the
      // writes that follow fault the pages in one by one instead.
      ::madvise(reinterpret_cast<void*>(from), to - from, MADV_POPULATE_WRITE);
    }
  };
  try {
    // Isolated: a caller that is itself a pool task must not pick up unrelated work while
    // it waits for the slices.
    oneapi::tbb::this_task_arena::isolate([&] {
      oneapi::tbb::parallel_for(oneapi::tbb::blocked_range<std::size_t>(0, slices, 1), populate);
    });
  } catch (...) {
    // Nothing to undo: pages already faulted in stay, the rest fault on first write.
  }
#else
  (void)data;
  (void)bytes;
#endif
}

}  // namespace weft::detail
