// weft/detail/cereal_codec.hpp and bounded_archive.hpp: values of the cereal path round-trip,
// and bytes from another process cannot make the decoder allocate more than they hold, read a
// bool that is neither 0 nor 1, or leave bytes unread. (The fuzz harness
// tests/fuzz/value_codec_fuzz.cpp drives the same decoder with random bytes.)
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "support/value_bytes.hpp"

namespace {

using weft_test::decoded;
using weft_test::encoded;

template <class T>
std::string decode_error(const std::string& bytes) {
  try {
    decoded<T>(bytes);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "nothing thrown";
}

std::string little_endian_u64(std::uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return out;
}

}  // namespace

TEST_CASE("values of the cereal path come back equal") {
  using nested = std::map<std::string, std::vector<std::optional<std::string>>>;
  const nested value{{"a", {"x", std::nullopt, ""}}, {"", {}}};
  CHECK(decoded<nested>(encoded(value)) == value);
  using mixed = std::tuple<bool, std::variant<int, std::string>, std::vector<std::vector<int>>>;
  const mixed other{true, std::string("v"), {{1, 2}, {}, {3}}};
  CHECK(decoded<mixed>(encoded(other)) == other);
}

TEST_CASE("a forged element count is refused before anything is allocated for it") {
  // 2^24 strings announced, no bytes after: cereal's own archive would first build 16M empty
  // strings (512 MiB), then fail to read the first one.
  const std::string forged = little_endian_u64(std::uint64_t{1} << 24);
  CHECK(decode_error<std::vector<std::string>>(forged) ==
        "a container says it holds 16777216 elements, but only 0 bytes are left");
  // Nested: the inner count is checked against what is left after the outer one.
  const std::string inner = little_endian_u64(1) + little_endian_u64(1000) + "abc";
  CHECK(decode_error<std::vector<std::string>>(inner) ==
        "a container says it holds 1000 elements, but only 3 bytes are left");
  // A map's count, which cereal would reserve buckets for.
  CHECK(decode_error<std::map<int, int>>(little_endian_u64(~std::uint64_t{0})) ==
        "a container says it holds 18446744073709551615 elements, but only 0 bytes are left");
}

TEST_CASE("a bool that is neither 0 nor 1 and bytes left over are refused") {
  using flagged = std::tuple<bool, int>;
  std::string bytes = encoded(flagged{true, 7});
  REQUIRE(bytes.size() == 5);
  bytes[0] = 2;
  CHECK(decode_error<flagged>(bytes) == "a bool is encoded as 2, which is neither 0 nor 1");
  CHECK(decode_error<flagged>(encoded(flagged{false, 7}) + "xy") ==
        "its encoding has 7 bytes, but the value was whole after 5: 2 bytes are left over");
  CHECK(decode_error<flagged>(std::string("\x01\x07", 2)) ==
        "the value needs 4 more bytes, but only 1 are left");
}
