#pragma once
/// \file
/// The cereal input archive weft decodes values with: cereal's binary format, read from bytes
/// already in memory, with every size checked before it is used. cereal's own
/// BinaryInputArchive resizes a container to whatever count the bytes say before reading a
/// single element, so eight forged bytes from another process ("2^60 strings follow") would
/// make it allocate until the process dies. Here a container's count can never exceed the
/// bytes left to read, so what a decoder allocates stays proportional to what arrived. A count
/// over that throws cereal::Exception naming both numbers. The one cost: a container of
/// elements that encode to nothing at all (empty structs, std::monostate) cannot hold more
/// elements than there are bytes after its count; every other element takes at least a byte. Reads
/// the bytes `cereal::BinaryOutputArchive` writes, unchanged. A type's cereal functions must be
/// templates on the archive (as cereal's documentation writes them): a load() written for
/// cereal::BinaryInputArchive alone is not seen here, and the type then counts as one that cannot
/// be encoded.

#include <cereal/archives/binary.hpp>
#include <cereal/cereal.hpp>
#include <cereal/details/traits.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <type_traits>

namespace weft::detail {

/// Reads cereal's binary format from `bytes`, refusing any count larger than the bytes left.
class bounded_input_archive
    : public cereal::InputArchive<bounded_input_archive, cereal::AllowEmptyClassElision> {
 public:
  /// Reads from `bytes` (not copied: keep them alive while reading).
  explicit bounded_input_archive(std::span<const std::byte> bytes)
      : InputArchive(this), rest_(bytes) {}

  /// Copies the next `size` bytes into `data`; throws cereal::Exception when fewer are left.
  void loadBinary(void* data, std::size_t size) {
    if (size > rest_.size())
      throw cereal::Exception("the value needs " + std::to_string(size) + " more bytes, but only " +
                              std::to_string(rest_.size()) + " are left");
    if (size != 0) std::memcpy(data, rest_.data(), size);
    rest_ = rest_.subspan(size);
  }
  /// Throws cereal::Exception unless a container of `count` elements can fit in what is left.
  void check_count(std::uint64_t count) const {
    if (count > rest_.size())
      throw cereal::Exception("a container says it holds " + std::to_string(count) +
                              " elements, but only " + std::to_string(rest_.size()) +
                              " bytes are left");
  }
  /// Bytes not read yet.
  std::size_t left() const noexcept { return rest_.size(); }

 private:
  std::span<const std::byte> rest_;
};

/// cereal: an arithmetic value other than bool, as its bytes.
template <class T>
requires(std::is_arithmetic_v<T> &&
         !std::is_same_v<T, bool>) void CEREAL_LOAD_FUNCTION_NAME(bounded_input_archive& ar, T& t) {
  ar.loadBinary(std::addressof(t), sizeof(t));
}

/// cereal: a bool, one byte that must be 0 or 1 (any other byte would be undefined behaviour
/// once read as a bool).
inline void CEREAL_LOAD_FUNCTION_NAME(bounded_input_archive& ar, bool& t) {
  unsigned char byte = 0;
  ar.loadBinary(&byte, 1);
  if (byte > 1)
    throw cereal::Exception("a bool is encoded as " + std::to_string(byte) +
                            ", which is neither 0 nor 1");
  t = byte == 1;
}

/// cereal: a named value is its value (the binary format has no names).
template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(bounded_input_archive& ar, cereal::NameValuePair<T>& t) {
  ar(t.value);
}

/// cereal: a container's count, checked against the bytes left before anyone resizes to it.
template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(bounded_input_archive& ar, cereal::SizeTag<T>& t) {
  std::uint64_t count = 0;
  ar.loadBinary(&count, sizeof(count));
  ar.check_count(count);
  t.size = static_cast<std::remove_reference_t<T>>(count);
}

/// cereal: a block of raw bytes (a string's characters, a vector of numbers).
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(bounded_input_archive& ar, cereal::BinaryData<T>& t) {
  ar.loadBinary(t.data, static_cast<std::size_t>(t.size));
}

}  // namespace weft::detail

namespace cereal::traits::detail {
/// The output archive whose bytes bounded_input_archive reads (cereal checks load_minimal
/// against it).
template <>
struct get_output_from_input<weft::detail::bounded_input_archive> {
  using type = cereal::BinaryOutputArchive;
};
}  // namespace cereal::traits::detail

CEREAL_REGISTER_ARCHIVE(weft::detail::bounded_input_archive)
