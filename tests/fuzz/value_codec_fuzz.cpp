// libFuzzer harness: the value codec (weft/detail/codec.hpp and cereal_codec.hpp) decoding
// arbitrary bytes as the argument and result types programs send: standard containers nested
// in each other, variants, optionals, tuples, a user struct with a cereal serialize(), and the
// direct path. The first byte picks the type. Decoding either throws a std::exception (the
// node answers the call with an error) or gives a value whose encoding decodes to a value with
// the very same encoding; a forged count never makes the decoder allocate more than a small
// multiple of the bytes given (libFuzzer's -rss_limit_mb and -malloc_limit_mb catch that).

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <exception>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "support/value_bytes.hpp"

namespace {

// A type of a program's own, encoded through its serialize() function.
struct sample {
  std::int32_t x = 0;
  std::string label;
  std::vector<double> weights;
  std::optional<std::map<std::string, bool>> tags;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(x, label, weights, tags);
  }
};

using weft_test::decoded;
using weft_test::encoded;

template <class T>
struct is_unordered : std::false_type {};
template <class K, class V>
struct is_unordered<std::unordered_map<K, V>> : std::true_type {};

template <class T>
void round_trip(std::span<const std::byte> bytes) {
  std::optional<T> first;
  std::string once;
  try {
    first = decoded<T>(bytes);
    once = encoded(*first);
  } catch (const std::exception&) {
    return;  // refused: the call fails with this error
  }
  const T second = decoded<T>(std::as_bytes(std::span(once.data(), once.size())));
  if constexpr (is_unordered<T>::value) {
    // Equal maps may list their elements in another order (their bucket counts differ).
    if (second != *first) std::abort();
  } else {
    if (encoded(second) != once) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto bytes = std::as_bytes(std::span(data + 1, size - 1));
  switch (data[0] % 14) {
    case 0:
      round_trip<std::vector<std::string>>(bytes);
      break;
    case 1:
      round_trip<std::map<std::string, std::vector<std::int32_t>>>(bytes);
      break;
    case 2:
      round_trip<std::tuple<std::int64_t, std::string, double, bool>>(bytes);
      break;
    case 3:
      round_trip<std::variant<std::int32_t, std::string, std::vector<double>>>(bytes);
      break;
    case 4:
      round_trip<std::optional<std::vector<std::uint16_t>>>(bytes);
      break;
    case 5:
      round_trip<std::unordered_map<std::uint32_t, std::string>>(bytes);
      break;
    case 6:
      round_trip<std::set<std::string>>(bytes);
      break;
    case 7:
      round_trip<std::deque<std::list<std::int8_t>>>(bytes);
      break;
    case 8:
      round_trip<std::vector<std::vector<std::vector<char>>>>(bytes);
      break;
    case 9:
      round_trip<std::pair<std::string, std::array<std::uint32_t, 4>>>(bytes);
      break;
    case 10:
      round_trip<sample>(bytes);
      break;
    case 11:
      round_trip<std::vector<sample>>(bytes);
      break;
    case 12:
      round_trip<std::vector<double>>(bytes);
      break;  // the direct path
    case 13:
      round_trip<std::string>(bytes);
      break;  // the direct path
  }
  return 0;
}
