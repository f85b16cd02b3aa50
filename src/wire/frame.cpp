// Frame headers: encoding with a checksum, and checked reassembly from a byte stream.

#include "frame.hpp"

#include <fmt/core.h>

#include <cstring>

#include "crc32c.hpp"
#include "weft/errors.hpp"

namespace weft::wire {
namespace {

constexpr std::size_t crc_offset = 16;

void put_u16(std::byte* at, std::uint16_t v) noexcept {
  at[0] = std::byte(v & 0xFF);
  at[1] = std::byte(v >> 8);
}
void put_u32(std::byte* at, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i)
    at[i] = std::byte((v >> (8 * i)) & 0xFF);
}
void put_u64(std::byte* at, std::uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i)
    at[i] = std::byte((v >> (8 * i)) & 0xFF);
}
std::uint16_t get_u16(const std::byte* at) noexcept {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(at[0]) |
                                    (std::to_integer<unsigned>(at[1]) << 8));
}
std::uint32_t get_u32(const std::byte* at) noexcept {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= std::to_integer<std::uint32_t>(at[i]) << (8 * i);
  return v;
}
std::uint64_t get_u64(const std::byte* at) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= std::to_integer<std::uint64_t>(at[i]) << (8 * i);
  return v;
}

// CRC32C of a header (its checksum field counted as zero) followed by a payload.
std::uint32_t frame_crc(const std::byte* header,
                        std::span<const std::span<const std::byte>> payload) {
  std::array<std::byte, header_size> zeroed;
  std::memcpy(zeroed.data(), header, header_size);
  put_u32(zeroed.data() + crc_offset, 0);
  std::uint32_t crc = wire::crc32c(0, zeroed.data(), zeroed.size());
  for (auto piece : payload)
    crc = wire::crc32c(crc, piece.data(), piece.size());
  return crc;
}

}  // namespace

bool is_known(std::uint16_t t) noexcept {
  return t >= static_cast<std::uint16_t>(frame_type::hello) &&
         t <= static_cast<std::uint16_t>(frame_type::goodbye);
}

std::string type_name(std::uint16_t t) {
  static const char* const names[] = {"hello",   "challenge", "proof", "welcome", "heartbeat",
                                      "request", "response",  "chunk", "goodbye"};
  return is_known(t) ? names[t - 1] : fmt::format("unknown({})", t);
}

std::array<std::byte, header_size> encode_header(
    frame_type type, std::uint64_t request_id, std::span<const std::span<const std::byte>> payload,
    std::uint32_t max_payload) {
  std::uint64_t bytes = 0;
  for (auto piece : payload)
    bytes += piece.size();
  if (bytes > max_payload) {
    throw protocol_error(fmt::format(
        "a {} frame of {} bytes exceeds the maximum frame payload of {} bytes; send large "
        "objects in chunks",
        type_name(static_cast<std::uint16_t>(type)), bytes, max_payload));
  }
  std::array<std::byte, header_size> h{};
  put_u32(h.data(), static_cast<std::uint32_t>(bytes));
  put_u16(h.data() + 4, protocol_version);
  put_u16(h.data() + 6, static_cast<std::uint16_t>(type));
  put_u64(h.data() + 8, request_id);
  put_u32(h.data() + crc_offset, frame_crc(h.data(), payload));
  return h;
}

void frame_reader::feed(std::span<const std::byte> bytes) {
  if (consumed_ > 0 && consumed_ >= buffer_.size() / 2) {  // drop what was returned
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
    consumed_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  if (!header_ && pending_bytes() >= header_size) check_header();
}

void frame_reader::check_header() {
  const std::byte* at = buffer_.data() + consumed_;
  frame_header h;
  h.payload_bytes = get_u32(at);
  h.version = get_u16(at + 4);
  const std::uint16_t type = get_u16(at + 6);
  h.request_id = get_u64(at + 8);
  h.crc = get_u32(at + crc_offset);
  if (h.version != protocol_version) {
    throw protocol_error(fmt::format("a frame of protocol version {} arrived; this node speaks {}",
                                     h.version, protocol_version));
  }
  if (!is_known(type))
    throw protocol_error(fmt::format("a frame of unknown type {} arrived", type));
  h.type = static_cast<frame_type>(type);
  if (h.payload_bytes > max_payload_) {
    throw protocol_error(
        fmt::format("a {} frame announces {} payload bytes, over the maximum of {}",
                    type_name(type), h.payload_bytes, max_payload_));
  }
  header_ = h;
}

std::optional<std::pair<frame, std::size_t>> frame_reader::take_large(std::size_t min_payload) {
  if (!header_ || header_->payload_bytes < min_payload) return std::nullopt;
  const std::size_t have = pending_bytes() - header_size;
  if (have >= header_->payload_bytes) return std::nullopt;  // complete: next() returns it
  frame out{*header_, byte_buffer(header_->payload_bytes)};
  // The header's bytes are needed for the checksum; keep them with the frame's header.
  std::memcpy(out.payload.data(), buffer_.data() + consumed_ + header_size, have);
  buffer_.clear();
  consumed_ = 0;
  header_.reset();
  return std::make_pair(std::move(out), have);
}

void frame_reader::check(const frame& f) {
  std::array<std::byte, header_size> h{};
  put_u32(h.data(), f.header.payload_bytes);
  put_u16(h.data() + 4, f.header.version);
  put_u16(h.data() + 6, static_cast<std::uint16_t>(f.header.type));
  put_u64(h.data() + 8, f.header.request_id);
  const std::span<const std::byte> pieces[] = {f.payload, f.placed};
  if (frame_crc(h.data(), pieces) != f.header.crc) {
    throw protocol_error(fmt::format("a {} frame (request {}) failed its checksum",
                                     type_name(static_cast<std::uint16_t>(f.header.type)),
                                     f.header.request_id));
  }
}

std::optional<frame> frame_reader::next() {
  if (!header_) {
    if (pending_bytes() < header_size) return std::nullopt;
    check_header();
  }
  if (pending_bytes() < header_size + header_->payload_bytes) return std::nullopt;
  const std::byte* at = buffer_.data() + consumed_;
  std::span<const std::byte> payload(at + header_size, header_->payload_bytes);
  const std::span<const std::byte> pieces[] = {payload};
  if (frame_crc(at, pieces) != header_->crc) {
    throw protocol_error(fmt::format("a {} frame (request {}) failed its checksum",
                                     type_name(static_cast<std::uint16_t>(header_->type)),
                                     header_->request_id));
  }
  frame out{*header_, byte_buffer(payload.begin(), payload.end())};
  consumed_ += header_size + header_->payload_bytes;
  header_.reset();
  if (pending_bytes() >= header_size) check_header();
  return out;
}

}  // namespace weft::wire
