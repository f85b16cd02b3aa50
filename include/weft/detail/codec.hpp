#pragma once
/// \file
/// How an arena object becomes bytes for the spill store and back. Contiguous trivially
/// copyable data (a trivially copyable T, a vector of one, a string) takes the direct path:
/// its own memory is written and read back in place, with no per-element encoding. Anything
/// else that cereal can save and load with a binary archive goes through cereal. Other types
/// cannot be spilled and stay in memory.

#include <cereal/archives/binary.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/deque.hpp>
#include <cereal/types/list.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/unordered_set.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <sstream>
#include <streambuf>
#include <string>
#include <type_traits>
#include <vector>

#include "weft/detail/huge_pages.hpp"

namespace weft::detail {

/// The bytes of one encoded value: `pieces`, written in order, point into the value itself
/// (direct path) or into `buffer` (cereal output). Keep the value alive while writing.
struct encoded_value {
  std::vector<std::span<const std::byte>> pieces;
  std::string buffer;
};

/// Supplies the payload of a spilled object, verified against the checksum written with it.
class payload_source {
 public:
  /// Number of payload bytes.
  virtual std::uint64_t size() const noexcept = 0;
  /// The payload itself when it is already in memory (decoding then copies straight from
  /// it), else an empty span.
  virtual std::span<const std::byte> in_memory() const noexcept { return {}; }
  /// Fills `into` (exactly size() bytes) with the payload; throws if it cannot be read or does
  /// not match its checksum.
  virtual void read_all(std::span<std::byte> into) = 0;
  virtual ~payload_source() = default;
};

template <class T>
struct is_direct_container : std::false_type {};
template <class E, class A>
struct is_direct_container<std::vector<E, A>>
    : std::bool_constant<std::is_trivially_copyable_v<E> && !std::is_same_v<E, bool>> {};
template <class C>
struct is_direct_container<std::basic_string<C>> : std::is_trivially_copyable<C> {};

/// True when T's bytes are written as they are: trivially copyable T, or a std::vector or
/// std::basic_string of trivially copyable elements.
template <class T>
inline constexpr bool is_direct_v =
    (std::is_trivially_copyable_v<T> && !std::is_pointer_v<T>) || is_direct_container<T>::value;

/// True when cereal can save and load T with its binary archives (and T can be default
/// constructed to load into).
template <class T>
inline constexpr bool is_cereal_v =
    cereal::traits::is_output_serializable<T, cereal::BinaryOutputArchive>::value&&
        cereal::traits::is_input_serializable<T, cereal::BinaryInputArchive>::value&&
            std::is_default_constructible_v<T>;

/// True when an arena object of type T can be spilled; others are pinned in memory.
template <class T>
inline constexpr bool spillable_v = is_direct_v<T> || is_cereal_v<T>;

/// Throws std::runtime_error: a payload of `bytes` is not a whole number of `element` bytes.
[[noreturn]] void throw_bad_payload_size(std::uint64_t bytes, std::size_t element);

/// Appends `value`'s bytes to `out` (direct path: borrowed from `value`, no copy).
template <class T>
void encode(const T& value, encoded_value& out) {
  if constexpr (is_direct_container<T>::value) {
    out.pieces.push_back(std::as_bytes(std::span(value.data(), value.size())));
  } else if constexpr (is_direct_v<T>) {
    out.pieces.push_back(std::as_bytes(std::span(&value, 1)));
  } else {
    static_assert(is_cereal_v<T>, "weft: encode() needs a spillable type");
    std::ostringstream stream(std::ios::binary);
    {
      cereal::BinaryOutputArchive archive(stream);
      archive(value);
    }
    out.buffer = std::move(stream).str();
    out.pieces.push_back(std::as_bytes(std::span(out.buffer.data(), out.buffer.size())));
  }
}

/// A read-only stream buffer over bytes already in memory (feeds cereal without a copy).
class memory_streambuf : public std::streambuf {
 public:
  memory_streambuf(char* data, std::size_t size) { setg(data, data, data + size); }
};

/// Rebuilds a T from the payload `source` supplies.
template <class T>
T decode(payload_source& source) {
  const std::uint64_t bytes = source.size();
  if constexpr (is_direct_container<T>::value) {
    using E = typename T::value_type;
    if (bytes % sizeof(E) != 0) throw_bad_payload_size(bytes, sizeof(E));
    const std::size_t count = bytes / sizeof(E);
    T value;
    reserve_bulk(value, count);
    const std::span<const std::byte> here = source.in_memory();
    if (!here.empty() && reinterpret_cast<std::uintptr_t>(here.data()) % alignof(E) == 0) {
      // One pass: the elements are copied in as the container is built (no zeroing first).
      const auto* first = reinterpret_cast<const E*>(here.data());
      value.assign(first, first + count);
      return value;
    }
    value.resize(count);
    source.read_all(std::as_writable_bytes(std::span(value.data(), value.size())));
    return value;
  } else if constexpr (is_direct_v<T>) {
    if (bytes != sizeof(T)) throw_bad_payload_size(bytes, sizeof(T));
    std::array<std::byte, sizeof(T)> raw;
    source.read_all(raw);
    return std::bit_cast<T>(raw);
  } else {
    static_assert(is_cereal_v<T>, "weft: decode() needs a spillable type");
    std::string buffer(bytes, '\0');
    source.read_all(std::as_writable_bytes(std::span(buffer.data(), buffer.size())));
    memory_streambuf streambuf(buffer.data(), buffer.size());
    std::istream stream(&streambuf);
    cereal::BinaryInputArchive archive(stream);
    T value{};
    archive(value);
    return value;
  }
}

}  // namespace weft::detail
