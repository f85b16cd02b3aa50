#pragma once
/// \file
/// Values on their way to another process: a `wire_value` is a list of byte pieces plus
/// whatever keeps the memory they point into alive (the encoder's buffers, the values
/// themselves, pinned arena objects). Contiguous trivially copyable data is not copied: its
/// piece points at the value, and the socket writes it from there (scatter-gather).
///
/// A list of values is encoded as, per value, an 8-byte little-endian length and the value's
/// bytes (codec.hpp: direct bytes or a cereal binary archive).

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "weft/detail/codec.hpp"
#include "weft/detail/object_record.hpp"

namespace weft::detail {

/// Encoded bytes plus what keeps them valid. Not copyable; share it through a shared_ptr.
class wire_value {
 public:
  wire_value() = default;
  wire_value(const wire_value&) = delete;
  wire_value& operator=(const wire_value&) = delete;
  ~wire_value() {
    for (object_record* r : pins_)
      r->unpin();
  }

  /// The bytes, in order.
  const std::vector<std::span<const std::byte>>& pieces() const noexcept { return pieces_; }
  /// Total number of bytes of all pieces.
  std::uint64_t size() const noexcept { return size_; }

  /// Appends `value`'s encoding (no copy on the direct path: keep `value` alive, e.g. with
  /// keep_alive, until the bytes are written).
  template <class T>
  void append(const T& value) {
    encoded_value enc;
    encode(value, enc);
    if (!enc.buffer.empty()) {
      std::string& stable = buffers_.emplace_back(std::move(enc.buffer));
      add_piece(std::as_bytes(std::span(stable.data(), stable.size())));
    } else {
      for (auto piece : enc.pieces)
        add_piece(piece);
    }
  }
  /// Appends `value` preceded by its length (8 bytes, little-endian).
  template <class T>
  void append_with_length(const T& value) {
    auto& length = lengths_.emplace_back();
    add_piece(length);
    const std::uint64_t before = size_;
    append(value);
    const std::uint64_t n = size_ - before;
    for (std::size_t i = 0; i < 8; ++i)
      length[i] = std::byte((n >> (8 * i)) & 0xFF);
  }
  /// Appends raw bytes, copied.
  void append_copy(std::span<const std::byte> bytes) {
    std::string& stable = buffers_.emplace_back(reinterpret_cast<const char*>(bytes.data()),
                                                bytes.size());
    add_piece(std::as_bytes(std::span(stable.data(), stable.size())));
  }
  /// Keeps `owner` alive as long as this value (what a direct-path piece points into).
  void keep_alive(std::shared_ptr<const void> owner) { keep_.push_back(std::move(owner)); }
  /// Pins `record` in memory for as long as this value (an arena object being sent); may
  /// throw object_lost when it cannot be restored.
  void pin(object_record* record) {
    record->pin();
    pins_.push_back(record);
  }

 private:
  void add_piece(std::span<const std::byte> piece) {
    pieces_.push_back(piece);
    size_ += piece.size();
  }

  std::vector<std::span<const std::byte>> pieces_;
  std::uint64_t size_ = 0;
  std::deque<std::string> buffers_;  // a deque never moves its elements: pieces stay valid
  std::deque<std::array<std::byte, 8>> lengths_;
  std::vector<std::shared_ptr<const void>> keep_;
  std::vector<object_record*> pins_;
};

/// A payload_source over bytes in memory.
class memory_source final : public payload_source {
 public:
  explicit memory_source(std::span<const std::byte> bytes) noexcept : bytes_(bytes) {}
  std::uint64_t size() const noexcept override { return bytes_.size(); }
  void read_all(std::span<std::byte> into) override {
    if (!into.empty()) std::memcpy(into.data(), bytes_.data(), into.size());
  }

 private:
  std::span<const std::byte> bytes_;
};

/// Throws weft::protocol_error: an encoded value list ends early or has bytes left over.
[[noreturn]] void throw_bad_value_list(std::size_t index, std::uint64_t need, std::size_t have);

/// Reads length-prefixed values one after another from a byte span.
class value_list_reader {
 public:
  explicit value_list_reader(std::span<const std::byte> bytes) noexcept : rest_(bytes) {}

  /// Decodes the next value as a T; throws protocol_error if the bytes run out.
  template <class T>
  T next() {
    std::span<const std::byte> bytes = next_bytes();
    memory_source source(bytes);
    return decode<T>(source);
  }
  /// Throws protocol_error unless every value was read.
  void finish() const {
    if (!rest_.empty()) throw_bad_value_list(index_, 0, rest_.size());
  }

 private:
  std::span<const std::byte> next_bytes() {
    if (rest_.size() < 8) throw_bad_value_list(index_, 8, rest_.size());
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < 8; ++i)
      n |= std::to_integer<std::uint64_t>(rest_[i]) << (8 * i);
    rest_ = rest_.subspan(8);
    if (rest_.size() < n) throw_bad_value_list(index_, n, rest_.size());
    auto out = rest_.first(static_cast<std::size_t>(n));
    rest_ = rest_.subspan(static_cast<std::size_t>(n));
    ++index_;
    return out;
  }

  std::span<const std::byte> rest_;
  std::size_t index_ = 0;
};

/// Decodes a T from exactly `bytes` (no length prefix).
template <class T>
T decode_bytes(std::span<const std::byte> bytes) {
  memory_source source(bytes);
  return decode<T>(source);
}

}  // namespace weft::detail
