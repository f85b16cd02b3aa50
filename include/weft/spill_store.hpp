#pragma once
/// \file
/// weft::spill_store: where the object arena puts objects it moves out of memory. The arena
/// frames and checksums every blob itself, so a store only moves bytes.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace weft {

/// A backend holding spilled objects as numbered blobs, written and read as byte streams. The
/// arena calls it from any thread (spills on its workers, restores on the reading thread,
/// erase where the last ref is dropped), possibly concurrently for different ids, never
/// concurrently for one id. Errors are reported by throwing any std::exception whose what()
/// says why; the arena turns a failed read into weft::object_lost for that object only.
class spill_store {
 public:
  /// A blob being written; it replaces any blob of its id once committed, and is discarded
  /// if destroyed uncommitted.
  class writer {
   public:
    virtual ~writer() = default;
    /// Appends `bytes` to the blob.
    virtual void append(std::span<const std::byte> bytes) = 0;
    /// Makes the blob durable enough to be read back by this process.
    virtual void commit() = 0;
  };
  /// A blob being read from its start.
  class reader {
   public:
    virtual ~reader() = default;
    /// Fills `into` with the blob's next bytes; throws if the blob ends first.
    virtual void read(std::span<std::byte> into) = 0;
  };

  virtual ~spill_store() = default;

  /// Starts writing blob `id`.
  virtual std::unique_ptr<writer> create(std::uint64_t id) = 0;
  /// Starts reading blob `id`; throws if it does not exist.
  virtual std::unique_ptr<reader> open(std::uint64_t id) = 0;
  /// Deletes blob `id` if it exists; never throws.
  virtual void erase(std::uint64_t id) noexcept = 0;
  /// Where blob `id` lives, for messages (a file path for the directory store).
  virtual std::string location(std::uint64_t id) const = 0;
};

/// The default store: one file per blob in a fresh subdirectory of `parent` (the system
/// temporary directory when empty), created on the first write and removed with the store.
/// Throws weft::config_error if `parent` is not empty and not a directory.
std::shared_ptr<spill_store> make_file_spill_store(const std::string& parent);

}  // namespace weft
