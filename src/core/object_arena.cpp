// The object arena: budget accounting, LRU spilling with checksummed blobs, restoring.

#include "object_arena.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "live_actors.hpp"
#include "log.hpp"
#include "runtime_core.hpp"
#include "usable_memory.hpp"
#include "weft/detail/codec.hpp"
#include "weft/detail/state.hpp"
#include "weft/errors.hpp"
#include "wire/crc32c.hpp"

namespace weft::detail {
namespace {

using wire::crc32c;

// A spilled blob is a header, the payload, then a trailer with the payload's checksum (so the
// checksum is computed while writing, chunk by chunk, on bytes still in the CPU cache).
struct blob_header {
  std::array<char, 8> magic;
  std::uint32_t version;
  std::uint32_t reserved;
  std::uint64_t payload_bytes;
  std::uint64_t object_id;
  std::uint32_t padding;
  std::uint32_t header_crc;  // of every byte above
};
static_assert(sizeof(blob_header) == 40);
struct blob_trailer {
  std::uint32_t payload_crc;
  std::uint32_t magic;
};
constexpr std::array<char, 8> blob_magic{'W', 'E', 'F', 'T', 'O', 'B', 'J', '\0'};
constexpr std::uint32_t trailer_magic = 0x4A424F57;  // "WOBJ"
constexpr std::uint32_t blob_version = 1;
// Bytes checksummed and moved per step: small enough to stay in the CPU cache in between.
constexpr std::size_t chunk_bytes = 512 * 1024;

std::uint32_t header_crc(const blob_header& h) noexcept {
  return crc32c(0, &h, offsetof(blob_header, header_crc));
}

std::uint64_t default_budget() noexcept {
  return usable_memory_bytes() / 10 * 3;
}

std::string mib(std::uint64_t bytes) {
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

// Reads a blob's payload and checks it against the trailer's checksum.
class store_payload final : public payload_source {
 public:
  store_payload(spill_store::reader& reader, std::uint64_t bytes)
      : reader_(reader), bytes_(bytes) {}
  std::uint64_t size() const noexcept override { return bytes_; }
  void read_all(std::span<std::byte> into) override {
    if (into.size() != bytes_)
      throw std::runtime_error("the decoder asked for a payload of the wrong size");
    std::uint32_t crc = 0;
    for (std::size_t done = 0; done < into.size(); done += chunk_bytes) {
      auto chunk = into.subspan(done, std::min(chunk_bytes, into.size() - done));
      reader_.read(chunk);
      crc = crc32c(crc, chunk.data(), chunk.size());
    }
    blob_trailer trailer{};
    reader_.read(std::as_writable_bytes(std::span(&trailer, 1)));
    if (trailer.magic != trailer_magic || trailer.payload_crc != crc)
      throw std::runtime_error("its checksum does not match: the stored bytes were changed");
  }

 private:
  spill_store::reader& reader_;
  std::uint64_t bytes_;
};

}  // namespace

object_arena::object_arena(const config& cfg, runtime_core* core)
    : budget_(cfg.arena_bytes != 0 ? cfg.arena_bytes : default_budget()),
      core_(core),
      store_(cfg.spill_backend ? cfg.spill_backend : make_file_spill_store(cfg.spill_dir)) {}

object_arena::~object_arena() = default;

void object_arena::detach() noexcept {
  std::lock_guard lock(post_mutex_);
  core_ = nullptr;
}

void object_arena::check_put(std::size_t bytes, bool spillable, const char* type_name) const {
  if (spillable) return;
  const std::uint64_t pinned = pinned_.load(std::memory_order_relaxed);
  if (pinned + bytes > budget_) {
    throw error(fmt::format(
        "put: an object of type {} ({} bytes) cannot be spilled, and with the {} bytes already "
        "pinned in memory it would exceed the arena budget of {} bytes. Give the type a codec so "
        "it "
        "can be spilled (a cereal serialize() and WEFT_SERIALIZABLE(type), from weft/remote.hpp), "
        "drop refs you no longer need, or raise "
        "config.arena_bytes / WEFT_ARENA_BYTES",
        demangle(type_name), bytes, pinned, budget_));
  }
}

object_record* object_arena::track(state_base& owner, const object_ops& ops, std::size_t bytes) {
  object_record* r = add_record(owner, ops, bytes);
  if (!r->spillable_) pinned_.fetch_add(bytes, std::memory_order_relaxed);
  in_memory_.fetch_add(bytes, std::memory_order_relaxed);
  relieve_pressure();
  return r;
}

object_record* object_arena::track_remote(state_base& owner, const object_ops& ops,
                                          std::shared_ptr<remote_object> remote) {
  const std::uint64_t bytes = remote->size();
  object_record* r = add_record(owner, ops, static_cast<std::size_t>(bytes));
  r->remote_ = std::move(remote);
  r->awaiting_pull_ = true;
  r->word_.store(object_record::spilled, std::memory_order_release);
  remote_.fetch_add(bytes, std::memory_order_relaxed);
  return r;
}

object_record* object_arena::add_record(state_base& owner, const object_ops& ops,
                                        std::size_t bytes) {
  auto* r = new object_record();
  r->arena_ = this;
  r->owner_ = &owner;
  r->ops_ = &ops;
  r->clock_ = &clock_;
  r->id_ = next_id_.fetch_add(1, std::memory_order_relaxed);
  r->bytes_ = bytes;
  r->spillable_ = ops.spillable();
  r->last_use_.store(clock_.fetch_add(1, std::memory_order_relaxed), std::memory_order_relaxed);
  retain();
  {
    std::lock_guard lock(list_mutex_);
    r->next_ = head_;
    if (head_) head_->prev_ = r;
    head_ = r;
  }
  objects_.fetch_add(1, std::memory_order_relaxed);
  return r;
}

void object_arena::forget(object_record* r) noexcept {
  {
    std::lock_guard lock(list_mutex_);
    if (r->prev_)
      r->prev_->next_ = r->next_;
    else
      head_ = r->next_;
    if (r->next_) r->next_->prev_ = r->prev_;
  }
  {
    // Waits for a spill of this object in progress; later spill attempts see it gone. The
    // value itself is destroyed by our caller, on this thread, right after.
    std::lock_guard lock(r->mutex_);
    r->gone_ = true;
  }
  const std::uint64_t where = r->word_.load(std::memory_order_acquire) & object_record::where_mask;
  if (where == object_record::resident)
    in_memory_.fetch_sub(r->bytes_, std::memory_order_relaxed);
  else if (where == object_record::spilled && r->awaiting_pull_)
    remote_.fetch_sub(r->bytes_, std::memory_order_relaxed);
  else if (where == object_record::spilled)
    spilled_.fetch_sub(r->bytes_, std::memory_order_relaxed);
  if (!r->spillable_ || r->sticky_.load(std::memory_order_relaxed))
    pinned_.fetch_sub(r->bytes_, std::memory_order_relaxed);
  if (r->on_store_) store_->erase(r->id_);
  objects_.fetch_sub(1, std::memory_order_relaxed);
  if (r->claims_.fetch_or(object_record::gone_bit, std::memory_order_acq_rel) == 0) delete r;
  release();
}

void object_arena::unclaim(object_record* r) noexcept {
  if (r->claims_.fetch_sub(1, std::memory_order_acq_rel) == (object_record::gone_bit | 1)) delete r;
}

void object_arena::count_sticky(const object_record& r) noexcept {
  if (r.spillable_) pinned_.fetch_add(r.bytes_, std::memory_order_relaxed);
}

void object_arena::relieve_pressure() {
  const std::uint64_t used = in_memory_.load(std::memory_order_relaxed);
  if (used <= budget_) {
    warned_pinned_.store(false, std::memory_order_relaxed);
    return;
  }
  // Far over (the background spill cannot keep up with a burst): the caller helps.
  if (used > budget_ + budget_ / 2) spill_down_to(budget_ - budget_ / 10);
  start_background_spill();
}

void object_arena::start_background_spill() noexcept {
  if (spilling_.exchange(true, std::memory_order_acq_rel)) return;
  retain();  // held by the background spill
  bool posted = false;
  {
    std::lock_guard lock(post_mutex_);
    if (core_) posted = core_->run_background(&object_arena::background_spill, this);
  }
  if (!posted) {
    spilling_.store(false, std::memory_order_release);
    release();
  }
}

void object_arena::background_spill(void* arena) noexcept {
  auto& self = *static_cast<object_arena*>(arena);
  for (;;) {
    std::size_t spilled = self.spill_down_to(self.budget_ - self.budget_ / 10);
    self.spilling_.store(false, std::memory_order_release);
    if (spilled == 0 || self.in_memory_.load(std::memory_order_relaxed) <= self.budget_) break;
    if (self.spilling_.exchange(true, std::memory_order_acq_rel)) break;  // another one runs
  }
  self.release();
}

std::size_t object_arena::spill_down_to(std::uint64_t target) noexcept {
  if (in_memory_.load(std::memory_order_relaxed) <= target) return 0;
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::pair<std::uint64_t, object_record*>> candidates;
  try {
    std::lock_guard lock(list_mutex_);
    for (object_record* r = head_; r != nullptr; r = r->next_) {
      if (!r->spillable_ || r->sticky_.load(std::memory_order_relaxed)) continue;
      if (r->word_.load(std::memory_order_relaxed) != object_record::resident) continue;
      candidates.emplace_back(r->last_use_.load(std::memory_order_relaxed), r);
      r->claims_.fetch_add(1, std::memory_order_relaxed);  // keeps the record, not the object
    }
  } catch (const std::bad_alloc&) {
    // Spill what was collected (the record that did not fit was not claimed).
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::size_t count = 0;
  std::uint64_t bytes = 0;
  for (auto& [stamp, r] : candidates) {
    if (in_memory_.load(std::memory_order_relaxed) <= target) break;
    if (spill_one(*r)) {
      ++count;
      bytes += r->bytes_;
    }
  }
  for (auto& [stamp, r] : candidates)
    unclaim(r);
  const std::uint64_t used = in_memory_.load(std::memory_order_relaxed);
  if (count > 0) {
    log(log_level::debug, "arena: spilled {} objects ({}) in {:.1f} ms; {} of {} in memory", count,
        mib(bytes),
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count(),
        mib(used), mib(budget_));
  }
  // Readers pin objects only for a while; objects pinned for good are worth a warning.
  if (used > budget_ && count == 0 && pinned_.load(std::memory_order_relaxed) > budget_ &&
      !warned_pinned_.exchange(true, std::memory_order_relaxed)) {
    log(log_level::warn,
        "arena: {} in memory is over the budget of {} and nothing more can be spilled (the "
        "rest is being read, was read with get(), or cannot be serialized; {} pinned)",
        mib(used), mib(budget_), mib(pinned_.load(std::memory_order_relaxed)));
  }
  return count;
}

bool object_arena::spill_one(object_record& r) noexcept {
  // A record whose mutex is held is being restored, spilled or destroyed: skip it. Never
  // waiting here is what lets a restore (which holds its own record's mutex) spill others.
  std::unique_lock lock(r.mutex_, std::try_to_lock);
  if (!lock.owns_lock() || r.gone_) return false;
  std::uint64_t expected = object_record::resident;
  if (!r.word_.compare_exchange_strong(expected, object_record::busy, std::memory_order_acq_rel))
    return false;  // pinned by a reader meanwhile
  bool wrote = false;
  if (!r.on_store_) {
    try {
      write_copy(r);
      r.on_store_ = true;
      wrote = true;
    } catch (const std::exception& e) {
      r.word_.store(object_record::resident, std::memory_order_release);
      if (failures_.fetch_add(1, std::memory_order_relaxed) == 0) {
        log(log_level::warn, "arena: could not spill {}; it stays in memory: {}", describe(r),
            e.what());
      }
      return false;
    }
  }
  r.ops_->drop(*r.owner_);
  r.word_.store(object_record::spilled, std::memory_order_release);
  in_memory_.fetch_sub(r.bytes_, std::memory_order_relaxed);
  spilled_.fetch_add(r.bytes_, std::memory_order_relaxed);
  spills_.fetch_add(1, std::memory_order_relaxed);
  if (wrote) spill_writes_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void object_arena::write_copy(object_record& r) {
  encoded_value encoded;
  r.ops_->encode(*r.owner_, encoded);
  blob_header header{};
  header.magic = blob_magic;
  header.version = blob_version;
  header.object_id = r.id_;
  for (auto piece : encoded.pieces)
    header.payload_bytes += piece.size();
  header.header_crc = header_crc(header);
  std::unique_ptr<spill_store::writer> out = store_->create(r.id_);
  out->append(std::as_bytes(std::span(&header, 1)));
  blob_trailer trailer{0, trailer_magic};
  for (auto piece : encoded.pieces) {
    for (std::size_t done = 0; done < piece.size(); done += chunk_bytes) {
      auto chunk = piece.subspan(done, std::min(chunk_bytes, piece.size() - done));
      trailer.payload_crc = crc32c(trailer.payload_crc, chunk.data(), chunk.size());
      out->append(chunk);
    }
  }
  out->append(std::as_bytes(std::span(&trailer, 1)));
  out->commit();
}

void object_arena::restore(object_record& r) {
  // Make room first, so the memory of what is spilled now can hold what is restored.
  const std::uint64_t used = in_memory_.load(std::memory_order_relaxed);
  if (used + r.bytes_ > budget_) spill_down_to(budget_ > r.bytes_ ? budget_ - r.bytes_ : 0);
  if (r.awaiting_pull_) {
    pull(r);
    return;
  }
  try {
    std::unique_ptr<spill_store::reader> in = store_->open(r.id_);
    blob_header header{};
    in->read(std::as_writable_bytes(std::span(&header, 1)));
    if (header.magic != blob_magic) throw std::runtime_error("it is not a weft spill blob");
    if (header.header_crc != header_crc(header))
      throw std::runtime_error("its header checksum does not match: the stored bytes were changed");
    if (header.version != blob_version || header.object_id != r.id_)
      throw std::runtime_error(fmt::format("it holds object {} (format {}), not this one",
                                           header.object_id, header.version));
    store_payload payload(*in, header.payload_bytes);
    r.ops_->restore(*r.owner_, payload);
  } catch (const std::bad_alloc&) {
    throw;  // out of memory now is not a lost object: a later read may succeed
  } catch (const std::exception& e) {
    r.error_ = std::make_exception_ptr(
        object_lost(fmt::format("{} is lost: its spilled copy at {} cannot be restored: {}",
                                describe(r), store_->location(r.id_), e.what())));
    r.word_.store(object_record::lost, std::memory_order_release);
    spilled_.fetch_sub(r.bytes_, std::memory_order_relaxed);
    lost_.fetch_add(1, std::memory_order_relaxed);
    log(log_level::error, "arena: {} is lost: {}", describe(r), e.what());
    std::rethrow_exception(r.error_);
  }
  spilled_.fetch_sub(r.bytes_, std::memory_order_relaxed);
  in_memory_.fetch_add(r.bytes_, std::memory_order_relaxed);
  restores_.fetch_add(1, std::memory_order_relaxed);
  clock_.fetch_add(1, std::memory_order_relaxed);
  if (in_memory_.load(std::memory_order_relaxed) > budget_) start_background_spill();
}

void object_arena::pull(object_record& r) {
  try {
    std::unique_ptr<payload_source> source = r.remote_->fetch();
    r.ops_->restore(*r.owner_, *source);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const object_lost&) {
    r.error_ = std::current_exception();
    r.word_.store(object_record::lost, std::memory_order_release);
    r.awaiting_pull_ = false;
    remote_.fetch_sub(r.bytes_, std::memory_order_relaxed);
    lost_.fetch_add(1, std::memory_order_relaxed);
    throw;
  } catch (const std::exception& e) {
    r.error_ = std::make_exception_ptr(
        object_lost(fmt::format("{} is lost: pulling it from node {} failed: {}", describe(r),
                                r.remote_->owner(), e.what())));
    r.word_.store(object_record::lost, std::memory_order_release);
    r.awaiting_pull_ = false;
    remote_.fetch_sub(r.bytes_, std::memory_order_relaxed);
    lost_.fetch_add(1, std::memory_order_relaxed);
    std::rethrow_exception(r.error_);
  }
  r.awaiting_pull_ = false;
  remote_.fetch_sub(r.bytes_, std::memory_order_relaxed);
  in_memory_.fetch_add(r.bytes_, std::memory_order_relaxed);
  pulls_.fetch_add(1, std::memory_order_relaxed);
  clock_.fetch_add(1, std::memory_order_relaxed);
  if (in_memory_.load(std::memory_order_relaxed) > budget_) start_background_spill();
}

std::string object_arena::describe(const object_record& r) const {
  return fmt::format("object {} ({}, {} bytes)", r.id_, demangle(r.ops_->type_name()), r.bytes_);
}

arena_stats object_arena::stats() const noexcept {
  arena_stats s;
  s.objects = objects_.load(std::memory_order_relaxed);
  s.bytes_in_memory = in_memory_.load(std::memory_order_relaxed);
  s.bytes_spilled = spilled_.load(std::memory_order_relaxed);
  s.bytes_pinned = pinned_.load(std::memory_order_relaxed);
  s.budget = budget_;
  s.spills = spills_.load(std::memory_order_relaxed);
  s.spill_writes = spill_writes_.load(std::memory_order_relaxed);
  s.restores = restores_.load(std::memory_order_relaxed);
  s.lost = lost_.load(std::memory_order_relaxed);
  s.spill_failures = failures_.load(std::memory_order_relaxed);
  s.bytes_remote = remote_.load(std::memory_order_relaxed);
  s.pulls = pulls_.load(std::memory_order_relaxed);
  return s;
}

object_record* track_object(runtime_core* core, state_base& owner, const object_ops& ops,
                            std::size_t bytes) {
  return core->objects().track(owner, ops, bytes);
}

object_record* track_remote_object(runtime_core* core, state_base& owner, const object_ops& ops,
                                   std::shared_ptr<remote_object> remote) {
  return core->objects().track_remote(owner, ops, std::move(remote));
}

void forget_object(object_record* record) noexcept {
  std::unique_ptr<object_watch> watch;
  {
    std::lock_guard lock(record->mutex_);
    watch = std::move(record->watch_);
  }
  watch.reset();  // tells whoever offered the object to other nodes, outside the record's lock
  record->arena_->forget(record);
}

void check_put(runtime_core* core, std::size_t bytes, bool spillable, const char* type_name) {
  if (core->stopping())
    throw error("runtime::put after shutdown: the runtime no longer accepts objects");
  core->objects().check_put(bytes, spillable, type_name);
}

arena_stats arena_stats_of(const runtime_core* core) noexcept {
  return core->objects().stats();
}

void object_record::pin_slow() {
  std::lock_guard lock(mutex_);
  for (;;) {
    std::uint64_t w = word_.load(std::memory_order_acquire);
    switch (w & where_mask) {
      case resident:
        if (word_.compare_exchange_weak(w, w + pin_unit, std::memory_order_acquire)) {
          touch();
          return;
        }
        break;
      case spilled:
        arena_->restore(*this);
        word_.store(resident + pin_unit, std::memory_order_release);
        touch();
        return;
      case lost:
        std::rethrow_exception(error_);
      default:
        break;  // busy is only set under mutex_, which we hold: cannot happen
    }
  }
}

void object_record::count_sticky() noexcept {
  arena_->count_sticky(*this);
}

void object_record::last_unpinned() noexcept {
  arena_->reader_left();
}

void object_arena::reader_left() noexcept {
  if (in_memory_.load(std::memory_order_relaxed) > budget_) start_background_spill();
}

}  // namespace weft::detail
