// src/wire/crc32c.hpp: the checksum of spill files, hardware and portable paths.
#include "wire/crc32c.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <vector>

TEST_CASE("crc32c matches the standard check value") {
  const char* digits = "123456789";
  CHECK(weft::wire::crc32c(0, digits, 9) == 0xE3069283u);
  CHECK(weft::wire::crc32c_portable(0, digits, 9) == 0xE3069283u);
  CHECK(weft::wire::crc32c(0, digits, 0) == 0u);
}

TEST_CASE("crc32c extends incrementally and both paths agree on every length") {
  std::mt19937 rng(42);
  std::vector<unsigned char> data(40000);
  for (auto& b : data)
    b = static_cast<unsigned char>(rng());
  for (std::size_t n : {1u, 7u, 8u, 9u, 63u, 64u, 1000u, 4099u, 12288u, 12295u, 40000u}) {
    CAPTURE(n);
    const std::uint32_t whole = weft::wire::crc32c(0, data.data(), n);
    CHECK(weft::wire::crc32c_portable(0, data.data(), n) == whole);
    const std::size_t half = n / 2;
    const std::uint32_t first = weft::wire::crc32c(0, data.data(), half);
    CHECK(weft::wire::crc32c(first, data.data() + half, n - half) == whole);
    CHECK(weft::wire::crc32c_portable(first, data.data() + half, n - half) == whole);
  }
}
