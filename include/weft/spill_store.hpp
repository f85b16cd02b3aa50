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

/// A backend holding spilled objects as numbered blobs. The arena calls it from its own
/// worker threads, possibly concurrently for different ids, never concurrently for one id.
/// Errors are reported by throwing any std::exception whose what() says why; the arena turns
/// a failed read into weft::object_lost for that object only.
class spill_store {
 public:
  virtual ~spill_store() = default;

  /// Stores the concatenation of `pieces` as blob `id` (replacing any blob of that id).
  virtual void write(std::uint64_t id, std::span<const std::span<const std::byte>> pieces) = 0;
  /// Fills `into` with the blob's bytes starting at `offset`; throws if the blob is missing or
  /// shorter than `offset + into.size()`.
  virtual void read(std::uint64_t id, std::uint64_t offset, std::span<std::byte> into) = 0;
  /// Deletes blob `id` if it exists; never throws.
  virtual void erase(std::uint64_t id) noexcept = 0;
  /// Where blob `id` lives, for messages (a file path for the directory store).
  virtual std::string location(std::uint64_t id) const = 0;
};

/// The default store: one file per blob in a fresh subdirectory of `parent` (the system
/// temporary directory when empty), created on the first write and removed with the store.
/// Throws weft::config_error if `parent` is not empty and not a directory.
std::shared_ptr<spill_store> make_directory_store(const std::string& parent);

}  // namespace weft
