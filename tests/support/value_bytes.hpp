#pragma once
// Test helper: a value's encoding as one byte string, and a value decoded from one, through
// the codec a node uses for arguments and results (weft/detail/codec.hpp; the cereal codec is
// registered first for the types that need it).

#include <span>
#include <string>

#include "weft/detail/cereal_codec.hpp"
#include "weft/detail/wire_value.hpp"

namespace weft_test {

/// The bytes `value` is sent as.
template <class T>
std::string encoded(const T& value) {
  weft::detail::register_codec<T>();
  weft::detail::encoded_value out;
  weft::detail::encode(value, out);
  std::string bytes;
  for (auto piece : out.pieces)
    bytes.append(reinterpret_cast<const char*>(piece.data()), piece.size());
  return bytes;
}

/// The T that `bytes` decode to; throws what the codec throws for bytes it refuses.
template <class T>
T decoded(std::span<const std::byte> bytes) {
  weft::detail::register_codec<T>();
  weft::detail::memory_source source(bytes);
  return weft::detail::decode<T>(source);
}

/// The same, from a byte string.
template <class T>
T decoded(const std::string& bytes) {
  return decoded<T>(std::as_bytes(std::span(bytes.data(), bytes.size())));
}

}  // namespace weft_test
