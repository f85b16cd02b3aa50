// Argument lists on the wire: splitting them into entries and reading reference entries.

#include "weft/detail/wire_value.hpp"

#include <fmt/core.h>

#include "weft/errors.hpp"

namespace weft::detail {
namespace {

std::uint64_t read_u64(std::span<const std::byte> at) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i)
    v |= std::to_integer<std::uint64_t>(at[i]) << (8 * i);
  return v;
}

void write_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

}  // namespace

void throw_argument_count(std::size_t got, std::size_t expected) {
  throw protocol_error(fmt::format(
      "{} arguments arrived for a function of {} parameters (do both programs register the "
      "same function under this name?)",
      got, expected));
}

std::vector<wire_entry> split_entries(std::span<const std::byte> bytes) {
  std::vector<wire_entry> out;
  while (!bytes.empty()) {
    if (bytes.size() < 9) throw_bad_value_list(out.size(), 9, bytes.size());
    const auto tag = std::to_integer<unsigned char>(bytes[0]);
    if (tag != wire_value::entry_value && tag != wire_value::entry_reference) {
      throw protocol_error(fmt::format("argument {} has an unknown tag {}", out.size(), tag));
    }
    const std::uint64_t n = read_u64(bytes.subspan(1));
    bytes = bytes.subspan(9);
    if (bytes.size() < n) throw_bad_value_list(out.size(), n, bytes.size());
    out.push_back({tag, bytes.first(static_cast<std::size_t>(n))});
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return out;
}

wire_reference parse_reference(std::span<const std::byte> bytes) {
  if (bytes.size() < 8) throw protocol_error("a reference argument is truncated");
  const std::uint64_t owner_bytes = read_u64(bytes);
  if (owner_bytes > 255 || bytes.size() != 8 + owner_bytes + 16)
    throw protocol_error("a reference argument has the wrong size");
  wire_reference r;
  r.owner.assign(reinterpret_cast<const char*>(bytes.data() + 8), owner_bytes);
  r.id = read_u64(bytes.subspan(8 + owner_bytes));
  r.size = read_u64(bytes.subspan(16 + owner_bytes));
  return r;
}

void wire_value::append_reference(const std::string& owner, std::uint64_t id, std::uint64_t size) {
  std::string entry(1, static_cast<char>(entry_reference));
  write_u64(entry, 8 + owner.size() + 16);
  write_u64(entry, owner.size());
  entry += owner;
  write_u64(entry, id);
  write_u64(entry, size);
  std::string& stable = buffers_.emplace_back(std::move(entry));
  entries_.push_back({entry_reference, pieces_.size(), 1, stable.size()});
  add_piece(std::as_bytes(std::span(stable.data(), stable.size())));
}

}  // namespace weft::detail
