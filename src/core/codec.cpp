// The compiled parts of weft/detail/codec.hpp: its errors.

#include "weft/detail/codec.hpp"

#include <fmt/core.h>

#include <stdexcept>

#include "live_actors.hpp"
#include "weft/errors.hpp"

namespace weft::detail {

void throw_no_codec(const char* type_name) {
  throw error(fmt::format(
      "no codec for type {}: it is not trivially copyable (nor a vector/string of such), and "
      "nothing registered one. Include <weft/remote.hpp> and add WEFT_SERIALIZABLE({}) at "
      "namespace scope (the type needs a cereal serialize() function)",
      demangle(type_name), demangle(type_name)));
}

void throw_bad_payload_size(std::uint64_t bytes, std::size_t element) {
  throw std::runtime_error(fmt::format(
      "its payload has {} bytes, which is not a whole number of {}-byte elements", bytes, element));
}

void throw_value_bytes_left(std::size_t left, std::size_t total) {
  throw std::runtime_error(fmt::format(
      "its encoding has {} bytes, but the value was whole after {}: {} bytes are left over", total,
      total - left, left));
}

}  // namespace weft::detail
