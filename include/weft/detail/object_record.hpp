#pragma once
/// \file
/// The arena's bookkeeping for one tracked object: where its value is (in memory, being
/// spilled, spilled, lost) and how many readers pin it in memory. Readers pin with one atomic
/// compare-and-swap when the value is in memory; everything else is compiled in src/core.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>

#include "weft/detail/remote_object.hpp"

namespace weft::detail {

class state_base;
class runtime_core;
class object_arena;
struct encoded_value;
class payload_source;

/// Task and actor results smaller than this stay in their ref's state, outside the arena's
/// accounting (like Ray's small objects kept in the owner's memory); put() tracks any size.
inline constexpr std::size_t tracked_result_min_bytes = 64 * 1024;

/// What the arena does with a tracked state's value, without knowing its type.
struct object_ops {
  const char* (*type_name)() noexcept;  ///< typeid(T).name(), mangled.
  /// False: an object made now is pinned in memory for its whole life (no codec for its type).
  bool (*spillable)() noexcept;
  /// Appends the value's bytes (borrowed from the value where possible).
  void (*encode)(const state_base& owner, encoded_value& out);
  /// Rebuilds the value from the store and installs it; throws on any failure.
  void (*restore)(state_base& owner, payload_source& source);
  /// Destroys the value (it is safely in the store).
  void (*drop)(state_base& owner) noexcept;
};

/// One object known to the arena. Created by track_object; deleted by forget_object, or by the
/// last spill pass still holding a claim on it.
class object_record {
 public:
  static constexpr std::uint64_t resident = 0;  ///< Value in memory.
  static constexpr std::uint64_t busy = 1;      ///< Being spilled (readers wait on mutex_).
  static constexpr std::uint64_t spilled = 2;   ///< Value only in the store.
  static constexpr std::uint64_t lost = 3;      ///< Value unrecoverable (error_ says why).
  static constexpr std::uint64_t where_mask = 3;
  static constexpr std::uint64_t pin_unit = 4;  ///< The rest of word_ counts pins.

  /// Keeps the value in memory until unpin(), restoring it first if it was spilled. Throws
  /// weft::object_lost if it cannot be restored.
  void pin() {
    std::uint64_t w = word_.load(std::memory_order_acquire);
    while ((w & where_mask) == resident) {
      if (word_.compare_exchange_weak(w, w + pin_unit, std::memory_order_acquire)) {
        touch();
        return;
      }
    }
    pin_slow();
  }
  /// Pins the value only if it is in memory now (never restores); false if it is not.
  bool try_pin_resident() noexcept {
    std::uint64_t w = word_.load(std::memory_order_acquire);
    while ((w & where_mask) == resident) {
      if (word_.compare_exchange_weak(w, w + pin_unit, std::memory_order_acquire)) {
        touch();
        return true;
      }
    }
    return false;
  }
  /// Ends a pin taken by pin().
  void unpin() noexcept {
    const std::uint64_t before = word_.fetch_sub(pin_unit, std::memory_order_release);
    if ((before & ~where_mask) == pin_unit) last_unpinned();
  }
  /// Pins the value in memory for the rest of the object's life (ref::get()).
  void pin_for_good() {
    if (sticky_.load(std::memory_order_acquire)) return;
    pin();
    if (sticky_.exchange(true, std::memory_order_acq_rel))
      unpin();
    else
      count_sticky();
  }

  /// Compiled parts: the slow path of pin(), accounting for pin_for_good().
  void pin_slow();
  void count_sticky() noexcept;
  /// The last reader let go: if the arena is over its budget, a spill may now make room.
  void last_unpinned() noexcept;
  void touch() noexcept {
    last_use_.store(clock_->load(std::memory_order_relaxed), std::memory_order_relaxed);
  }

  object_arena* arena_ = nullptr;  // holds one reference to the arena
  state_base* owner_ = nullptr;
  const object_ops* ops_ = nullptr;
  const std::atomic<std::uint64_t>* clock_ = nullptr;
  std::uint64_t id_ = 0;
  std::size_t bytes_ = 0;
  bool spillable_ = false;  // ops_->spillable() when the record was made
  std::atomic<std::uint64_t> word_{resident};
  std::atomic<std::uint64_t> last_use_{0};
  std::atomic<bool> sticky_{false};
  /// Spill passes holding this record (it is deleted by the last of them once its object is
  /// gone); the top bit is set when the object is gone.
  std::atomic<std::uint32_t> claims_{0};
  static constexpr std::uint32_t gone_bit = 1u << 31;
  std::mutex mutex_;          // serialises spill, restore, loss and the object's end
  bool on_store_ = false;     // a verified copy is in the store (mutex_)
  bool gone_ = false;         // the object's state is being destroyed (mutex_)
  std::exception_ptr error_;  // why it is lost (mutex_)
  /// Set for a value owned by another node; kept after the first pull so that later tasks on
  /// other nodes can be sent the reference instead of the bytes.
  std::shared_ptr<remote_object> remote_;
  bool awaiting_pull_ = false;  // remote, never pulled: counted as remote bytes (mutex_)
  /// Set (under mutex_) once the object was offered to other nodes; destroyed first when the
  /// object is forgotten.
  std::unique_ptr<object_watch> watch_;
  object_record* prev_ = nullptr;  // the arena's list (its mutex)
  object_record* next_ = nullptr;
};

/// Makes `owner` (whose value is in place, `bytes` by size_of) an arena object of `core`;
/// starts a background spill when the arena goes over its budget.
object_record* track_object(runtime_core* core, state_base& owner, const object_ops& ops,
                            std::size_t bytes);
/// Makes `owner` (complete, holding no value yet) an arena object of `core` whose value lives
/// on another node: the first pin pulls it from there.
object_record* track_remote_object(runtime_core* core, state_base& owner, const object_ops& ops,
                                   std::shared_ptr<remote_object> remote);
/// Removes an object from its arena (its state is being destroyed) and deletes the record.
void forget_object(object_record* record) noexcept;

}  // namespace weft::detail
