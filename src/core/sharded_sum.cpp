// The cell layout of sharded_sum (sharded_sum.hpp).

#include "sharded_sum.hpp"

#include <thread>

namespace weft::detail {

unsigned sum_cells() noexcept {
  static const unsigned cells = [] {
    const unsigned hardware = std::thread::hardware_concurrency();
    unsigned n = 4;
    while (n < hardware && n < 64)
      n *= 2;
    return n;
  }();
  return cells;
}

unsigned sum_cell_of_this_thread() noexcept {
  static std::atomic<unsigned> next{0};
  thread_local const unsigned cell =
      next.fetch_add(1, std::memory_order_relaxed) & (sum_cells() - 1);
  return cell;
}

}  // namespace weft::detail
