// The bulk pool: large blocks mapped in huge pages, kept after they are freed (up to a limit)
// and handed out again. A block is reused for a request of at least half its size, so a small
// request never pins a large block.

#include <sys/mman.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>

#include "usable_memory.hpp"
#include "weft/bulk_allocator.hpp"
#include "weft/detail/huge_pages.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
// A kept block is poisoned, so AddressSanitizer still reports a use after free of a bulk block.
#define WEFT_POISON(block, bytes) ASAN_POISON_MEMORY_REGION(block, bytes)
#define WEFT_UNPOISON(block, bytes) ASAN_UNPOISON_MEMORY_REGION(block, bytes)
#else
#define WEFT_POISON(block, bytes) ((void)0)
#define WEFT_UNPOISON(block, bytes) ((void)0)
#endif

namespace weft {
namespace {

constexpr std::size_t huge_page = std::size_t{2} << 20;

std::size_t round_to_huge(std::size_t bytes) {
  if (bytes > static_cast<std::size_t>(-1) - huge_page) throw std::bad_alloc();
  return (bytes + huge_page - 1) & ~(huge_page - 1);
}

std::uint64_t default_limit() noexcept {
  return detail::usable_memory_bytes() / 8;
}

// A fresh mapping of `bytes` (a multiple of the huge page size) aligned to a huge page.
void* map_aligned(std::size_t bytes) {
  const std::size_t padded = bytes + huge_page;
  void* raw = ::mmap(nullptr, padded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto begin = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (begin + huge_page - 1) & ~(huge_page - 1);
  if (aligned > begin) ::munmap(raw, aligned - begin);
  const std::uintptr_t end = begin + padded;
  if (end > aligned + bytes)
    ::munmap(reinterpret_cast<void*>(aligned + bytes), end - (aligned + bytes));
  detail::advise_huge_pages(reinterpret_cast<void*>(aligned), bytes);
  return reinterpret_cast<void*>(aligned);
}

class bulk_pool {
 public:
  void* allocate(std::size_t bytes) {
    const std::size_t capacity = round_to_huge(bytes);
    {
      std::lock_guard lock(mutex_);
      auto kept = kept_.lower_bound(capacity);
      if (kept != kept_.end() && kept->first / 2 <= capacity) {
        void* block = kept->second;
        retained_ -= kept->first;
        in_use_ += kept->first;
        live_.emplace(block, kept->first);
        kept_.erase(kept);
        ++reused_;
        WEFT_UNPOISON(block, capacity);
        return block;
      }
    }
    void* block = map_aligned(capacity);
    std::lock_guard lock(mutex_);
    live_.emplace(block, capacity);
    in_use_ += capacity;
    ++mapped_;
    return block;
  }

  void deallocate(void* block) noexcept {
    std::size_t capacity = 0;
    {
      std::lock_guard lock(mutex_);
      auto found = live_.find(block);
      if (found == live_.end()) return;  // not ours: cannot happen through bulk_allocator
      capacity = found->second;
      live_.erase(found);
      in_use_ -= capacity;
      if (retained_ + capacity <= limit_) {
        WEFT_POISON(block, capacity);
        kept_.emplace(capacity, block);
        retained_ += capacity;
        return;
      }
    }
    ::munmap(block, capacity);
  }

  void set_limit(std::uint64_t bytes) {
    std::multimap<std::size_t, void*> released;
    {
      std::lock_guard lock(mutex_);
      limit_ = bytes;
      while (retained_ > limit_ && !kept_.empty()) {
        auto largest = std::prev(kept_.end());
        retained_ -= largest->first;
        released.insert(kept_.extract(largest));
      }
    }
    for (const auto& [capacity, block] : released) {
      WEFT_UNPOISON(block, capacity);  // the next mapping at this address starts clean
      ::munmap(block, capacity);
    }
  }

  std::uint64_t limit() const noexcept {
    std::lock_guard lock(mutex_);
    return limit_;
  }

  bulk_memory_stats stats() const {
    std::lock_guard lock(mutex_);
    return bulk_memory_stats{retained_, limit_, in_use_, mapped_, reused_};
  }

 private:
  mutable std::mutex mutex_;
  std::multimap<std::size_t, void*> kept_;       // capacity -> block
  std::unordered_map<void*, std::size_t> live_;  // block -> capacity
  std::uint64_t retained_ = 0;
  std::uint64_t in_use_ = 0;
  std::uint64_t limit_ = default_limit();
  std::uint64_t mapped_ = 0;
  std::uint64_t reused_ = 0;
};

// Never destroyed: blocks may be freed by other static destructors at exit.
bulk_pool& pool() {
  static bulk_pool* const instance = new bulk_pool();
  return *instance;
}

}  // namespace

bulk_memory_stats bulk_memory() {
  return pool().stats();
}

std::uint64_t bulk_retained_limit() noexcept {
  return pool().limit();
}

void set_bulk_retained_limit(std::uint64_t bytes) {
  pool().set_limit(bytes);
}

namespace detail {

void* bulk_allocate(std::size_t bytes) {
  if (bytes < bulk_min_bytes) return ::operator new(bytes);
  return pool().allocate(bytes);
}

void bulk_deallocate(void* block, std::size_t bytes) noexcept {
  if (block == nullptr) return;
  if (bytes < bulk_min_bytes) {
    ::operator delete(block);
    return;
  }
  pool().deallocate(block);
}

}  // namespace detail
}  // namespace weft
