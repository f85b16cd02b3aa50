#pragma once
/// \file
/// The object arena's public vocabulary: `weft::size_of` (how many bytes an object counts
/// against the budget, a customization point) and `weft::arena_stats`.

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace weft {

/// How many bytes a `T` counts against the arena's budget. Specialise it for your own types
/// (`template <> struct weft::object_size<my_type> { static std::size_t of(const my_type&); };`)
/// when the default is wrong. The defaults: `sizeof(T)` plus, for standard containers, the heap
/// memory they own: capacity times element size for contiguous containers and strings, the sum
/// of the elements' sizes (plus two pointers per node) for node-based ones, recursively.
template <class T, class = void>
struct object_size {
  /// The size of `value` in bytes.
  static std::size_t of(const T& value) noexcept;
};

/// The bytes `value` counts against the arena's budget: `object_size<T>::of(value)`.
template <class T>
std::size_t size_of(const T& value) noexcept {
  return object_size<T>::of(value);
}

namespace detail {
template <class T>
struct is_contiguous_container : std::false_type {};
template <class E, class A>
struct is_contiguous_container<std::vector<E, A>> : std::bool_constant<!std::is_same_v<E, bool>> {};
template <class C, class Tr, class A>
struct is_contiguous_container<std::basic_string<C, Tr, A>> : std::true_type {};

template <class T>
struct is_tuple_like : std::false_type {};
template <class A, class B>
struct is_tuple_like<std::pair<A, B>> : std::true_type {};
template <class... A>
struct is_tuple_like<std::tuple<A...>> : std::true_type {};
template <class E, std::size_t N>
struct is_tuple_like<std::array<E, N>> : std::true_type {};

/// Heap bytes owned by a container beyond its own sizeof.
template <class T>
std::size_t owned_bytes(const T& value) noexcept;

template <class T>
std::size_t owned_bytes(const T& value) noexcept {
  using V = std::remove_cvref_t<T>;
  if constexpr (std::is_trivially_copyable_v<V>) {
    return 0;
  } else if constexpr (is_contiguous_container<V>::value) {
    using E = typename V::value_type;
    std::size_t n = value.capacity() * sizeof(E);
    if constexpr (!std::is_trivially_copyable_v<E>) {
      for (const auto& e : value)
        n += owned_bytes(e);
    }
    return n;
  } else if constexpr (is_tuple_like<V>::value) {
    return std::apply([](const auto&... e) { return (std::size_t{0} + ... + owned_bytes(e)); },
                      value);
  } else if constexpr (requires {
                         typename V::value_type;
                         value.has_value();
                         *value;
                       }) {
    return value.has_value() ? owned_bytes(*value) : 0;  // std::optional
  } else if constexpr (requires {
                         value.size();
                         std::begin(value) != std::end(value);
                       }) {
    std::size_t n = 0;
    for (const auto& e : value)
      n += sizeof(e) + 2 * sizeof(void*) + owned_bytes(e);  // node-based: one node per element
    return n;
  } else {
    return 0;
  }
}
}  // namespace detail

template <class T, class Enable>
std::size_t object_size<T, Enable>::of(const T& value) noexcept {
  return sizeof(T) + detail::owned_bytes(value);
}

/// A snapshot of a runtime's object arena (`runtime::arena_stats()`).
struct arena_stats {
  std::uint64_t objects = 0;          ///< Live arena objects (in memory or spilled).
  std::uint64_t bytes_in_memory = 0;  ///< size_of of the objects in memory.
  std::uint64_t bytes_spilled = 0;    ///< size_of of the objects currently spilled.
  std::uint64_t bytes_pinned = 0;     ///< In memory for good: not serializable, or get() used.
  std::uint64_t budget = 0;           ///< The memory budget in bytes.
  std::uint64_t spills = 0;           ///< Objects moved out of memory so far.
  std::uint64_t spill_writes = 0;     ///< Spills that wrote a file (the others reused one).
  std::uint64_t restores = 0;         ///< Objects read back from the spill store so far.
  std::uint64_t lost = 0;             ///< Objects found missing or corrupted on restore.
  std::uint64_t spill_failures = 0;   ///< Spill writes that failed (the object stayed in memory).
  std::uint64_t bytes_remote = 0;     ///< Encoded size of objects owned by other nodes, not
                                      ///< pulled here yet (in a cluster).
  std::uint64_t pulls = 0;            ///< Objects pulled from other nodes so far.
};

}  // namespace weft
