// CRC32C with the SSE4.2 instruction when available (checked once), Boost.CRC otherwise.

#include "weft/detail/crc32c.hpp"

#include <boost/crc.hpp>

#include <cstring>

namespace weft::detail {
namespace {

using portable_crc = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t crc, const void* data,
                                                              std::size_t size) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t state = ~crc;
  while (size >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    state = __builtin_ia32_crc32di(state, word);
    p += 8;
    size -= 8;
  }
  auto narrow = static_cast<std::uint32_t>(state);
  while (size > 0) {
    narrow = __builtin_ia32_crc32qi(narrow, *p);
    ++p;
    --size;
  }
  return ~narrow;
}

bool has_sse42() noexcept {
  static const bool yes = __builtin_cpu_supports("sse4.2");
  return yes;
}
#endif

std::uint32_t reflect(std::uint32_t x) noexcept {
  std::uint32_t r = 0;
  for (int i = 0; i < 32; ++i, x >>= 1)
    r = (r << 1) | (x & 1u);
  return r;
}

}  // namespace

std::uint32_t crc32c_portable(std::uint32_t crc, const void* data, std::size_t size) noexcept {
  // Boost takes the initial remainder unreflected and before the final xor: undo both.
  portable_crc engine(reflect(~crc));
  engine.process_bytes(data, size);
  return engine.checksum();
}

std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t size) noexcept {
#if defined(__x86_64__)
  if (has_sse42()) return crc32c_sse42(crc, data, size);
#endif
  return crc32c_portable(crc, data, size);
}

}  // namespace weft::detail
