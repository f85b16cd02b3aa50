// Field writer and reader of cluster messages: checked lengths, errors naming the message.

#include "fields.hpp"

#include <fmt/core.h>

#include "weft/errors.hpp"

namespace weft::wire {

void throw_undecodable(std::string_view what, std::string_view why) {
  const bool vowel =
      !what.empty() && std::string_view("aeiou").find(what.front()) != std::string_view::npos;
  throw protocol_error(fmt::format("{} {} does not decode: {}", vowel ? "an" : "a", what, why));
}

void field_writer::text(std::string_view s, std::string_view what) {
  if (s.size() > max_text_bytes) {
    throw protocol_error(
        fmt::format("a {} of {} bytes is longer than a message can carry ({} bytes)", what,
                    s.size(), max_text_bytes));
  }
  u32(static_cast<std::uint32_t>(s.size()));
  out_.append(s);
}

void field_writer::count(std::size_t n, std::string_view what) {
  if (n > std::numeric_limits<std::uint32_t>::max()) {
    throw protocol_error(
        fmt::format("a {} of {} elements is longer than a message can carry", what, n));
  }
  u32(static_cast<std::uint32_t>(n));
}

std::string field_reader::text() {
  const std::uint32_t n = u32();
  if (n > rest_.size()) {
    throw_undecodable(
        what_, fmt::format("a text of {} bytes is announced, {} bytes are left", n, rest_.size()));
  }
  std::string s(reinterpret_cast<const char*>(rest_.data()), n);
  rest_ = rest_.subspan(n);
  return s;
}

std::uint32_t field_reader::count(std::size_t min_element_bytes) {
  const std::uint32_t n = u32();
  if (min_element_bytes > 0 && n > rest_.size() / min_element_bytes) {
    throw_undecodable(what_,
                      fmt::format("{} elements are announced, {} bytes are left", n, rest_.size()));
  }
  return n;
}

std::span<const std::byte> field_reader::bytes(std::uint64_t n) {
  if (n > rest_.size()) {
    throw_undecodable(what_, fmt::format("{} bytes are announced, {} are left", n, rest_.size()));
  }
  const auto out = rest_.first(static_cast<std::size_t>(n));
  rest_ = rest_.subspan(static_cast<std::size_t>(n));
  return out;
}

void field_reader::finish() const {
  if (!rest_.empty()) throw_undecodable(what_, fmt::format("{} bytes are left over", rest_.size()));
}

std::uint64_t field_reader::little_endian(int width) {
  need(static_cast<std::size_t>(width));
  std::uint64_t v = 0;
  for (int i = 0; i < width; ++i)
    v |= std::to_integer<std::uint64_t>(rest_[static_cast<std::size_t>(i)]) << (8 * i);
  rest_ = rest_.subspan(static_cast<std::size_t>(width));
  return v;
}

void field_reader::need(std::size_t n) const {
  if (rest_.size() < n) {
    throw_undecodable(what_,
                      fmt::format("it is truncated ({} bytes needed, {} left)", n, rest_.size()));
  }
}

}  // namespace weft::wire
