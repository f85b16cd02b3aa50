#pragma once
/// \file
/// The codec of types other than the direct ones (codec.hpp), through cereal's binary archive:
/// what weft/remote.hpp puts into `codec_slot<T>` for the types that need it. Only programs
/// that include weft/remote.hpp compile cereal.

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
#include <cstddef>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "weft/detail/bounded_archive.hpp"
#include "weft/detail/codec.hpp"

namespace weft {
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

/// True when cereal's traits say it can save and load T with its binary archives (and T can
/// be default constructed to load into). For a standard container this only means the
/// container has cereal functions: whether its elements do is checked by deep_traits below.
template <class T>
inline constexpr bool is_cereal_v =
    cereal::traits::is_output_serializable<T, cereal::BinaryOutputArchive>::value&&
        cereal::traits::is_input_serializable<T, bounded_input_archive>::value&&
            std::is_default_constructible_v<T>;

/// Whether every leaf of a T can be encoded (a direct or cereal type, or a handle), looked at
/// through the standard containers, pairs, tuples, optionals and variants.
template <class T>
struct deep_encodable : std::bool_constant<is_direct_v<T> || is_cereal_v<T>> {};
template <class T>
struct deep_encodable<ref<T>> : std::true_type {};
template <class T>
struct deep_encodable<actor<T>> : std::true_type {};
/// deep_encodable of a container or product type whose parts are E...
template <class... E>
struct deep_encodable_parts : std::bool_constant<(deep_encodable<E>::value && ...)> {};
template <class E, class A>
struct deep_encodable<std::vector<E, A>> : deep_encodable_parts<E> {};
template <class E, class A>
struct deep_encodable<std::deque<E, A>> : deep_encodable_parts<E> {};
template <class E, class A>
struct deep_encodable<std::list<E, A>> : deep_encodable_parts<E> {};
template <class E, std::size_t N>
struct deep_encodable<std::array<E, N>> : deep_encodable_parts<E> {};
template <class K, class V, class C, class A>
struct deep_encodable<std::map<K, V, C, A>> : deep_encodable_parts<K, V> {};
template <class K, class V, class H, class E, class A>
struct deep_encodable<std::unordered_map<K, V, H, E, A>> : deep_encodable_parts<K, V> {};
template <class K, class C, class A>
struct deep_encodable<std::set<K, C, A>> : deep_encodable_parts<K> {};
template <class K, class H, class E, class A>
struct deep_encodable<std::unordered_set<K, H, E, A>> : deep_encodable_parts<K> {};
template <class E>
struct deep_encodable<std::optional<E>> : deep_encodable_parts<E> {};
template <class A, class B>
struct deep_encodable<std::pair<A, B>> : deep_encodable_parts<A, B> {};
template <class... E>
struct deep_encodable<std::tuple<E...>> : deep_encodable_parts<E...> {};
template <class... E>
struct deep_encodable<std::variant<E...>> : deep_encodable_parts<E...> {};

/// True when every part of a T can be encoded: the direct path, cereal, or a ref or actor
/// handle (which travel to other nodes as references).
template <class T>
inline constexpr bool encodable_v = is_direct_v<T> || (deep_encodable<T>::value && is_cereal_v<T>);

/// The cereal codec of T.
template <class T>
struct cereal_codec {
  static void encode(const void* value, encoded_value& out) {
    std::ostringstream stream(std::ios::binary);
    {
      cereal::BinaryOutputArchive archive(stream);
      archive(*static_cast<const T*>(value));
    }
    out.buffer = std::move(stream).str();
    out.pieces.push_back(std::as_bytes(std::span(out.buffer.data(), out.buffer.size())));
  }
  static void decode(payload_source& source, void* into) {
    std::span<const std::byte> bytes = source.in_memory();
    std::string copy;
    if (bytes.empty() && source.size() != 0) {
      copy.resize(source.size());
      source.read_all(std::as_writable_bytes(std::span(copy.data(), copy.size())));
      bytes = std::as_bytes(std::span(copy.data(), copy.size()));
    }
    bounded_input_archive archive(bytes);
    auto& value = static_cast<std::optional<T>*>(into)->emplace();
    archive(value);
    if (archive.left() != 0) throw_value_bytes_left(archive.left(), bytes.size());
  }
  static constexpr value_codec table{&encode, &decode};
};

/// Fills T's codec slot (nothing to do for a direct type or a void result); idempotent.
/// Returns true.
template <class T>
bool register_codec() noexcept {
  using V = std::remove_cvref_t<T>;
  if constexpr (!std::is_void_v<V> && !is_direct_v<V>) {
    static_assert(encodable_v<V>,
                  "weft: this type cannot be encoded: make it trivially copyable, a "
                  "vector/string of such, or give it a cereal serialize() function");
    // Read first: refs inside values register their type on every send, from any thread.
    if (codec_slot<V>::codec.load(std::memory_order_acquire) == nullptr)
      codec_slot<V>::codec.store(&cereal_codec<V>::table, std::memory_order_release);
  }
  return true;
}

/// Fills the codec slots of every type in Types... Returns true.
template <class... Types>
bool register_codecs() noexcept {
  return (register_codec<Types>() && ... && true);
}

}  // namespace weft::detail
