// One tbb::global_control per process, sized for the largest live runtime.

#include "parallelism.hpp"

#include <oneapi/tbb/global_control.h>

#include <set>
#include <memory>
#include <mutex>

namespace weft::detail {
namespace {
struct registry {
  std::mutex mutex;
  std::multiset<std::size_t> requests;
  std::unique_ptr<tbb::global_control> control;
  std::size_t current = 0;

  // Re-sizes the control to the largest request (plus one slot TBB counts for the caller).
  void update() {
    std::size_t want = requests.empty() ? 0 : *requests.rbegin() + 1;
    if (want == current) return;
    if (want == 0) {
      control.reset();
    } else {
      // A new control first, then drop the old: the limit never dips in between.
      auto next = std::make_unique<tbb::global_control>(
          tbb::global_control::max_allowed_parallelism, want);
      control = std::move(next);
    }
    current = want;
  }
};

registry& the_registry() {
  static registry r;
  return r;
}
}  // namespace

parallelism_reservation::parallelism_reservation(std::size_t workers) : workers_(workers) {
  auto& r = the_registry();
  std::lock_guard lock(r.mutex);
  r.requests.insert(workers_);
  r.update();
}

parallelism_reservation::~parallelism_reservation() {
  auto& r = the_registry();
  std::lock_guard lock(r.mutex);
  r.requests.erase(r.requests.find(workers_));
  r.update();
}

}  // namespace weft::detail
