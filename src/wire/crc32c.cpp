// CRC32C with the SSE4.2 instruction when available (checked once), Boost.CRC otherwise.

#include "crc32c.hpp"

#include <boost/crc.hpp>

#include <cstring>

namespace weft::wire {
namespace {

using portable_crc = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

// CRC32C polynomial, reflected.
constexpr std::uint32_t poly = 0x82F63B78u;

// a(x) * b(x) modulo the polynomial, in the reflected representation (as in zlib).
std::uint32_t multiply_mod(std::uint32_t a, std::uint32_t b) noexcept {
  std::uint32_t m = 1u << 31;
  std::uint32_t product = 0;
  for (;;) {
    if (a & m) {
      product ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = (b & 1) ? (b >> 1) ^ poly : b >> 1;
  }
  return product;
}

// x^(8 * bytes) modulo the polynomial: what shifting a CRC past `bytes` bytes multiplies by.
std::uint32_t shift_operator(std::size_t bytes) noexcept {
  std::uint32_t x_pow = 1u << 30;   // x^1
  std::uint32_t result = 1u << 31;  // x^0
  for (std::size_t n = bytes * 8; n != 0; n >>= 1) {
    if (n & 1) result = multiply_mod(x_pow, result);
    x_pow = multiply_mod(x_pow, x_pow);
  }
  return result;
}

#if defined(__x86_64__)
// Bytes per lane when three independent crc32 chains run side by side: the instruction's
// latency is three times its throughput, so one chain uses a third of it.
constexpr std::size_t lane_bytes = 4096;

__attribute__((target("sse4.2"))) std::uint64_t crc_words(std::uint64_t state,
                                                          const unsigned char* p,
                                                          std::size_t words) noexcept {
  for (std::size_t i = 0; i < words; ++i) {
    std::uint64_t word;
    std::memcpy(&word, p + 8 * i, 8);
    state = __builtin_ia32_crc32di(state, word);
  }
  return state;
}

__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t crc, const void* data,
                                                             std::size_t size) noexcept {
  static const std::uint32_t lane_shift = shift_operator(lane_bytes);
  const auto* p = static_cast<const unsigned char*>(data);
  while (size >= 3 * lane_bytes) {
    std::uint64_t a = ~crc & 0xFFFFFFFFu;
    std::uint64_t b = 0xFFFFFFFFu;
    std::uint64_t c = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < lane_bytes; i += 8) {
      std::uint64_t wa, wb, wc;
      std::memcpy(&wa, p + i, 8);
      std::memcpy(&wb, p + lane_bytes + i, 8);
      std::memcpy(&wc, p + 2 * lane_bytes + i, 8);
      a = __builtin_ia32_crc32di(a, wa);
      b = __builtin_ia32_crc32di(b, wb);
      c = __builtin_ia32_crc32di(c, wc);
    }
    // crc(A B) = crc(A) * x^(8|B|) + crc(B), on finished CRCs.
    std::uint32_t ab =
        multiply_mod(lane_shift, ~static_cast<std::uint32_t>(a)) ^ ~static_cast<std::uint32_t>(b);
    crc = multiply_mod(lane_shift, ab) ^ ~static_cast<std::uint32_t>(c);
    p += 3 * lane_bytes;
    size -= 3 * lane_bytes;
  }
  std::uint64_t state = crc_words(~crc & 0xFFFFFFFFu, p, size / 8);
  p += size / 8 * 8;
  size %= 8;
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

}  // namespace weft::wire
