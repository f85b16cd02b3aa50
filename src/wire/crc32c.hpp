#pragma once
// CRC32C (Castagnoli), the checksum of wire frames and spill files. Uses the SSE4.2 crc32
// instruction where the CPU has it, Boost.CRC otherwise. Not installed: only weft's own
// sources and tests use it.

#include <cstddef>
#include <cstdint>

namespace weft::wire {

/// Extends `crc` (the CRC32C of the bytes before; 0 for none) with `size` bytes at `data`.
/// crc32c(0, "123456789", 9) == 0xE3069283.
std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t size) noexcept;

/// The same checksum computed without the SSE4.2 instruction (to test one against the other).
std::uint32_t crc32c_portable(std::uint32_t crc, const void* data, std::size_t size) noexcept;

}  // namespace weft::wire
