// Publication of results and the lock-free waiter list of detail::state_base.

#include <cstdint>

#include "weft/detail/state.hpp"

namespace weft::detail {
namespace {
// Marks a waiter list whose state is complete: no node may be linked any more.
continuation* closed_list() noexcept {
  return reinterpret_cast<continuation*>(std::uintptr_t{1});
}
}  // namespace

bool state_base::subscribe(continuation* c) const noexcept {
  continuation* head = waiters_.load(std::memory_order_acquire);
  do {
    if (head == closed_list()) return false;
    c->next_ = head;
  } while (!waiters_.compare_exchange_weak(head, c, std::memory_order_release,
                                           std::memory_order_acquire));
  return true;
}

void state_base::publish(int status) noexcept {
  int before = status_.exchange(status, std::memory_order_acq_rel);
  continuation* list = waiters_.exchange(closed_list(), std::memory_order_acq_rel);
  if (before & sleeper) status_.notify_all();
  // The list is newest-first; reverse it so waiters fire in the order they subscribed.
  continuation* ordered = nullptr;
  while (list != nullptr) {
    continuation* next = list->next_;
    list->next_ = ordered;
    ordered = list;
    list = next;
  }
  while (ordered != nullptr) {
    continuation* next = ordered->next_;
    ordered->on_ready();
    ordered = next;
  }
}

}  // namespace weft::detail
