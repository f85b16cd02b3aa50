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
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <streambuf>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <deque>
#include <vector>

#include "weft/detail/huge_pages.hpp"

namespace weft {
template <class T>
class ref;
template <class T>
class actor;

// cereal functions of refs and actor handles inside values sent to other nodes, declared here
// so that cereal's traits see them; defined in weft/detail/handle_codec.hpp.
template <class Archive, class T>
void save(Archive& archive, const ref<T>& r);
template <class Archive, class T>
void load(Archive& archive, ref<T>& r);
template <class Archive, class T>
void save(Archive& archive, const actor<T>& a);
template <class Archive, class T>
void load(Archive& archive, actor<T>& a);
}  // namespace weft

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

/// True when cereal's traits say it can save and load T with its binary archives (and T can
/// be default constructed to load into). For a standard container this only means the
/// container has cereal functions: whether its elements do is checked by deep_traits below.
template <class T>
inline constexpr bool is_cereal_v =
    cereal::traits::is_output_serializable<T, cereal::BinaryOutputArchive>::value&&
        cereal::traits::is_input_serializable<T, cereal::BinaryInputArchive>::value&&
            std::is_default_constructible_v<T>;

/// What a value of type T holds, looked at through the standard containers, pairs, tuples,
/// optionals and variants: `handles` when a weft::ref or weft::actor is somewhere inside, and
/// `encodable` when every leaf can be encoded (a direct or cereal type, or a handle).
template <class T>
struct deep_traits {
  static constexpr bool handles = false;
  static constexpr bool encodable = is_direct_v<T> || is_cereal_v<T>;
};
template <class T>
struct deep_traits<ref<T>> {
  static constexpr bool handles = true;
  static constexpr bool encodable = true;
};
template <class T>
struct deep_traits<actor<T>> {
  static constexpr bool handles = true;
  static constexpr bool encodable = true;
};
/// deep_traits of a container or product type whose parts are E...
template <class... E>
struct deep_traits_of_parts {
  static constexpr bool handles = (deep_traits<E>::handles || ...);
  static constexpr bool encodable = (deep_traits<E>::encodable && ...);
};
template <class E, class A>
struct deep_traits<std::vector<E, A>> : deep_traits_of_parts<E> {};
template <class E, class A>
struct deep_traits<std::deque<E, A>> : deep_traits_of_parts<E> {};
template <class E, class A>
struct deep_traits<std::list<E, A>> : deep_traits_of_parts<E> {};
template <class E, std::size_t N>
struct deep_traits<std::array<E, N>> : deep_traits_of_parts<E> {};
template <class K, class V, class C, class A>
struct deep_traits<std::map<K, V, C, A>> : deep_traits_of_parts<K, V> {};
template <class K, class V, class H, class E, class A>
struct deep_traits<std::unordered_map<K, V, H, E, A>> : deep_traits_of_parts<K, V> {};
template <class K, class C, class A>
struct deep_traits<std::set<K, C, A>> : deep_traits_of_parts<K> {};
template <class K, class H, class E, class A>
struct deep_traits<std::unordered_set<K, H, E, A>> : deep_traits_of_parts<K> {};
template <class E>
struct deep_traits<std::optional<E>> : deep_traits_of_parts<E> {};
template <class A, class B>
struct deep_traits<std::pair<A, B>> : deep_traits_of_parts<A, B> {};
template <class... E>
struct deep_traits<std::tuple<E...>> : deep_traits_of_parts<E...> {};
template <class... E>
struct deep_traits<std::variant<E...>> : deep_traits_of_parts<E...> {};

/// True when a T holds a weft::ref or weft::actor somewhere inside a standard container (such
/// a value can travel to another node as an argument, but cannot be spilled to disk).
template <class T>
inline constexpr bool contains_handles_v = deep_traits<T>::handles;

/// True when every part of a T can be encoded: the direct path, cereal, or a ref or actor
/// handle (which travel to other nodes as references).
template <class T>
inline constexpr bool encodable_v = is_direct_v<T> || (deep_traits<T>::encodable && is_cereal_v<T>);

/// True when an arena object of type T can be spilled; others are pinned in memory. Values
/// holding refs or actor handles are not: a handle means nothing once the process is gone.
template <class T>
inline constexpr bool spillable_v = encodable_v<T> && !contains_handles_v<T>;

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
    static_assert(is_cereal_v<T>, "weft: encode() needs an encodable type");
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
    static_assert(is_cereal_v<T>, "weft: decode() needs an encodable type");
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
