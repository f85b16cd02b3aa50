#pragma once
// The one way the cluster writes the fields of its messages: little-endian integers of a fixed
// width, texts as a 4-byte length and their bytes, fixed-size byte arrays. The writer refuses a
// text too long for its length field (never truncates); the reader checks every length
// against the bytes left before it allocates, and throws weft::protocol_error naming the
// message when anything is short, too long or left over. Nothing here does I/O.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <string_view>

namespace weft::wire {

/// The longest text a message can carry (its length is a 4-byte field).
inline constexpr std::uint64_t max_text_bytes = std::numeric_limits<std::uint32_t>::max();

/// Throws weft::protocol_error: the `what` being read does not decode, because `why`.
[[noreturn]] void throw_undecodable(std::string_view what, std::string_view why);

/// Appends fields to a byte string.
class field_writer {
 public:
  explicit field_writer(std::string& out) noexcept : out_(out) {}

  /// One byte.
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  /// 4 little-endian bytes.
  void u32(std::uint32_t v) { little_endian(v, 4); }
  /// 8 little-endian bytes.
  void u64(std::uint64_t v) { little_endian(v, 8); }
  /// 4 bytes, two's complement.
  void i32(std::int32_t v) { u32(static_cast<std::uint32_t>(v)); }
  /// 8 bytes, two's complement.
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  /// An IEEE 754 double as its 8 bytes.
  void f64(double v) { u64(std::bit_cast<std::uint64_t>(v)); }
  /// A 4-byte length and the bytes of `s`; throws weft::protocol_error naming `what` when `s`
  /// is longer than max_text_bytes.
  void text(std::string_view s, std::string_view what = "text");
  /// A count of elements that follow (4 bytes); throws weft::protocol_error when over 2^32-1.
  void count(std::size_t n, std::string_view what = "list");
  /// Bytes whose length the reader knows (a nonce, a digest).
  void raw(std::span<const std::byte> bytes) {
    out_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }

 private:
  void little_endian(std::uint64_t v, int width) {
    for (int i = 0; i < width; ++i)
      out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  std::string& out_;
};

/// Reads fields from the front of a byte span.
class field_reader {
 public:
  /// Reads `bytes`; `what` names the message in errors ("task header").
  field_reader(std::span<const std::byte> bytes, std::string_view what) noexcept
      : rest_(bytes), what_(what) {}

  std::uint8_t u8() { return static_cast<std::uint8_t>(little_endian(1)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(little_endian(4)); }
  std::uint64_t u64() { return little_endian(8); }
  std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  double f64() { return std::bit_cast<double>(u64()); }
  /// A text written by field_writer::text.
  std::string text();
  /// A count written by field_writer::count, checked against the bytes left: each element
  /// takes at least `min_element_bytes`, so a forged count cannot make the caller reserve
  /// more than the message could hold.
  std::uint32_t count(std::size_t min_element_bytes);
  /// The next N bytes.
  template <std::size_t N>
  std::array<std::byte, N> raw() {
    need(N);
    std::array<std::byte, N> a;
    std::memcpy(a.data(), rest_.data(), N);
    rest_ = rest_.subspan(N);
    return a;
  }
  /// The next `n` bytes, in place.
  std::span<const std::byte> bytes(std::uint64_t n);
  /// What is left unread (a message's trailing encoded values).
  std::span<const std::byte> rest() const noexcept { return rest_; }
  /// True when nothing is left.
  bool empty() const noexcept { return rest_.empty(); }
  /// What the message is called in errors.
  std::string_view what() const noexcept { return what_; }
  /// Throws weft::protocol_error unless every byte was read.
  void finish() const;

 private:
  std::uint64_t little_endian(int width);
  void need(std::size_t n) const;

  std::span<const std::byte> rest_;
  std::string_view what_;
};

}  // namespace weft::wire
