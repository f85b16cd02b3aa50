#pragma once
// A sum split into per-thread cells: an update is a relaxed add on a cache line the updating
// thread has to itself (until more threads count than there are cells), never one atomic that
// every thread fights over; a read adds the cells up.

#include <atomic>
#include <cstdint>
#include <memory>

namespace weft::detail {

/// How many cells each sharded_sum has: the hardware threads rounded up to a power of two,
/// at least 4 and at most 64. Fixed for the life of the process.
unsigned sum_cells() noexcept;

/// The calling thread's cell index (below sum_cells()): threads take indexes in the order they
/// first count, so up to sum_cells() threads never share a cell.
unsigned sum_cell_of_this_thread() noexcept;

/// A sum of T (an unsigned integer or double) that many threads add to at once. Reads see every
/// add that happened before them; a read concurrent with adds may miss some of them.
template <class T>
class sharded_sum {
 public:
  sharded_sum() : cells_(new cell[sum_cells()]) {}

  /// Adds `amount` to the calling thread's cell.
  void add(T amount) noexcept {
    cells_[sum_cell_of_this_thread()].value.fetch_add(amount, std::memory_order_relaxed);
  }

  /// The sum over all cells.
  T sum() const noexcept {
    T total{};
    for (unsigned i = 0, n = sum_cells(); i < n; ++i)
      total += cells_[i].value.load(std::memory_order_relaxed);
    return total;
  }

 private:
  struct alignas(64) cell {
    std::atomic<T> value{};
  };
  std::unique_ptr<cell[]> cells_;
};

}  // namespace weft::detail
