#pragma once
/// \file
/// How a value becomes bytes (for the spill store and for other processes) and back, without
/// any serialization library. Contiguous trivially copyable data (a trivially copyable T, a
/// vector of one, a string) takes the direct path: its own memory is written and read back in
/// place, with no per-element encoding. Any other type goes through the codec registered for
/// it in `codec_slot<T>`: weft/remote.hpp fills that slot with a cereal codec (for the
/// parameters and results of WEFT_REMOTE functions and WEFT_ACTOR methods, for the value types
/// of refs inside values sent, and for any type named by WEFT_SERIALIZABLE). A type with no
/// codec cannot be spilled (its arena objects stay in memory) and cannot travel. This keeps
/// cereal out of every program that does not include weft/remote.hpp, and keeps one
/// definition of every template here whichever headers a translation unit includes.

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "weft/detail/huge_pages.hpp"

namespace weft {
template <class T>
class ref;
template <class T>
class actor;
}  // namespace weft

namespace weft::detail {

/// The bytes of one encoded value: `pieces`, written in order, point into the value itself
/// (direct path) or into `buffer` (a registered codec's output). Keep the value alive while
/// writing.
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

/// Whether a value of type T holds a weft::ref or weft::actor somewhere inside, looked at
/// through the template arguments of the class templates it is made of (standard containers,
/// pairs, tuples, optionals, variants, and any other template).
template <class T>
struct holds_handles : std::false_type {};
template <class T>
struct holds_handles<ref<T>> : std::true_type {};
template <class T>
struct holds_handles<actor<T>> : std::true_type {};
template <template <class...> class C, class... E>
struct holds_handles<C<E...>> : std::bool_constant<(holds_handles<E>::value || ...)> {};
template <template <class, std::size_t> class C, class E, std::size_t N>
struct holds_handles<C<E, N>> : holds_handles<E> {};

/// True when a T holds a weft::ref or weft::actor somewhere inside (such a value can travel to
/// another node as an argument, but cannot be spilled to disk).
template <class T>
inline constexpr bool contains_handles_v = holds_handles<T>::value;

/// How a type other than the direct ones is encoded, erased: `encode` appends the bytes of the
/// T at `value` to `out` (into out.buffer); `decode` emplaces a T rebuilt from `source` into
/// the std::optional<T> at `into`.
struct value_codec {
  void (*encode)(const void* value, encoded_value& out);
  void (*decode)(payload_source& source, void* into);
};

/// The codec registered for T, or null. One slot per type for the whole program (an inline
/// variable), filled by weft/remote.hpp; read with one atomic load.
template <class T>
struct codec_slot {
  static inline std::atomic<const value_codec*> codec{nullptr};
};

/// True when a T can be encoded now: the direct path, or a registered codec.
template <class T>
bool has_codec() noexcept {
  if constexpr (is_direct_v<T>)
    return true;
  else
    return codec_slot<T>::codec.load(std::memory_order_acquire) != nullptr;
}

/// True when an arena object of type T can be spilled now; others are pinned in memory.
/// Values holding refs or actor handles never are: a handle means nothing once the process is
/// gone.
template <class T>
bool spillable_now() noexcept {
  if constexpr (contains_handles_v<T>)
    return false;
  else
    return has_codec<T>();
}

/// Throws weft::error: no codec is registered for the type `type_name` (mangled), with what
/// to do about it.
[[noreturn]] void throw_no_codec(const char* type_name);
/// Throws std::runtime_error: a payload of `bytes` is not a whole number of `element` bytes.
[[noreturn]] void throw_bad_payload_size(std::uint64_t bytes, std::size_t element);
/// Throws std::runtime_error: a value decoded from `total` bytes left `left` of them unread.
[[noreturn]] void throw_value_bytes_left(std::size_t left, std::size_t total);

/// The codec registered for T; throws weft::error when there is none.
template <class T>
const value_codec& registered_codec() {
  const value_codec* codec = codec_slot<T>::codec.load(std::memory_order_acquire);
  if (codec == nullptr) throw_no_codec(typeid(T).name());
  return *codec;
}

/// Appends `value`'s bytes to `out` (direct path: borrowed from `value`, no copy).
template <class T>
void encode(const T& value, encoded_value& out) {
  if constexpr (is_direct_container<T>::value) {
    out.pieces.push_back(std::as_bytes(std::span(value.data(), value.size())));
  } else if constexpr (is_direct_v<T>) {
    out.pieces.push_back(std::as_bytes(std::span(&value, 1)));
  } else {
    registered_codec<T>().encode(&value, out);
  }
}

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
    std::optional<T> value;
    registered_codec<T>().decode(source, &value);
    return std::move(*value);
  }
}

}  // namespace weft::detail
