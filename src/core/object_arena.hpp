#pragma once
// The object arena of one runtime: accounting of tracked objects against the memory budget,
// least-recently-used spilling to a spill_store on a background task, and restoring.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "weft/arena.hpp"
#include "weft/config.hpp"
#include "weft/detail/object_record.hpp"
#include "weft/spill_store.hpp"

namespace weft::detail {

/// Tracks the objects of one runtime. Reference counted: the runtime core and every record
/// hold a reference, so spilled objects stay readable after the runtime is gone.
class object_arena {
 public:
  /// An arena whose background spills run on `core`'s workers.
  object_arena(const config& cfg, runtime_core* core);

  void retain() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  /// Counts an object pulled from another node by the cluster layer (arena_stats::pulls).
  void count_pull() noexcept { pulls_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  /// The runtime stops: no background spill is started any more.
  void detach() noexcept;

  /// See weft::detail::check_put.
  void check_put(std::size_t bytes, bool spillable, const char* type_name) const;
  /// See weft::detail::track_object.
  object_record* track(state_base& owner, const object_ops& ops, std::size_t bytes);
  /// See weft::detail::track_remote_object.
  object_record* track_remote(state_base& owner, const object_ops& ops,
                              std::shared_ptr<remote_object> remote);
  /// See weft::detail::forget_object.
  void forget(object_record* record) noexcept;
  /// Reads a spilled record back into memory; its mutex is held. Throws object_lost (and
  /// marks the record lost) when the stored copy is missing or corrupted.
  void restore(object_record& record);
  /// An object's last reader let go; spills in the background if the arena is over budget.
  void reader_left() noexcept;
  /// A record became pinned for good (ref::get()).
  void count_sticky(const object_record& record) noexcept;

  arena_stats stats() const noexcept;
  std::uint64_t budget() const noexcept { return budget_; }

 private:
  ~object_arena();

  // Starts a background spill if none runs; spills on the caller's thread when far over.
  void relieve_pressure();
  void start_background_spill() noexcept;
  static void background_spill(void* arena) noexcept;
  // Spills least recently used objects until at most `target` bytes are in memory. Returns
  // how many it spilled.
  std::size_t spill_down_to(std::uint64_t target) noexcept;
  bool spill_one(object_record& record) noexcept;
  // Ends a spill pass's claim on a record; deletes it if its object is gone.
  static void unclaim(object_record* record) noexcept;
  void write_copy(object_record& record);
  object_record* add_record(state_base& owner, const object_ops& ops, std::size_t bytes);
  // Pulls a remote record's value from its owner (restore's path for it).
  void pull(object_record& record);
  std::string describe(const object_record& record) const;

  const std::uint64_t budget_;
  std::atomic<std::size_t> refs_{1};
  std::atomic<std::uint64_t> clock_{1};
  std::atomic<std::uint64_t> next_id_{1};

  std::mutex list_mutex_;
  object_record* head_ = nullptr;

  std::mutex post_mutex_;
  runtime_core* core_;  // null once detached (post_mutex_)
  std::atomic<bool> spilling_{false};

  const std::shared_ptr<spill_store> store_;

  std::atomic<std::uint64_t> objects_{0};
  std::atomic<std::uint64_t> in_memory_{0};
  std::atomic<std::uint64_t> spilled_{0};
  std::atomic<std::uint64_t> pinned_{0};
  std::atomic<std::uint64_t> spills_{0};
  std::atomic<std::uint64_t> spill_writes_{0};
  std::atomic<std::uint64_t> restores_{0};
  std::atomic<std::uint64_t> lost_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> remote_{0};
  std::atomic<std::uint64_t> pulls_{0};
  std::atomic<bool> warned_pinned_{false};
};

}  // namespace weft::detail
