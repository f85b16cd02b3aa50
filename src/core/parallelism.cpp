// One tbb::global_control per process, sized for all live runtimes together.

#include "parallelism.hpp"

#include <oneapi/tbb/global_control.h>

#include <memory>
#include <mutex>

namespace weft::detail {
namespace {
struct registry {
  std::mutex mutex;
  std::size_t requested = 0;
  std::unique_ptr<tbb::global_control> control;
  std::size_t current = 0;

  // Re-sizes the control to the sum of the requests: TBB's workers form one pool shared by all
  // arenas, so concurrent runtimes need their threads added up (plus one slot TBB counts for
  // the calling thread).
  void update() {
    std::size_t want = requested == 0 ? 0 : requested + 1;
    if (want == current) return;
    if (want == 0) {
      control.reset();
    } else {
      // A new control first, then drop the old: the limit never dips in between.
      auto next =
          std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, want);
      control = std::move(next);
    }
    current = want;
  }
};

// Never destroyed: the default runtime (weft::init) is shut down by a static destructor at
// exit, which may run after this registry's would have, and must still find it.
registry& the_registry() {
  static registry* const r = new registry;
  return *r;
}
}  // namespace

parallelism_reservation::parallelism_reservation(std::size_t workers) : workers_(workers) {
  auto& r = the_registry();
  std::lock_guard lock(r.mutex);
  r.requested += workers_;
  r.update();
}

parallelism_reservation::~parallelism_reservation() {
  auto& r = the_registry();
  std::lock_guard lock(r.mutex);
  r.requested -= workers_;
  r.update();
}

}  // namespace weft::detail
