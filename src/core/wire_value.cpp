// Argument lists on the wire: splitting them into entries and reading reference entries.

#include "weft/detail/wire_value.hpp"

#include "weft/detail/handle_codec.hpp"

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

void write_text(std::string& out, const std::string& text) {
  write_u64(out, text.size());
  out += text;
}

// Reads the fields of a deferred or actor entry, each checked against the bytes left.
class field_cursor {
 public:
  field_cursor(std::span<const std::byte> bytes, const char* what) : rest_(bytes), what_(what) {}
  std::uint64_t u64() {
    if (rest_.size() < 8) truncated();
    const std::uint64_t v = read_u64(rest_);
    rest_ = rest_.subspan(8);
    return v;
  }
  std::string text() {
    const std::uint64_t n = u64();
    if (n > rest_.size()) truncated();
    std::string out(reinterpret_cast<const char*>(rest_.data()), static_cast<std::size_t>(n));
    rest_ = rest_.subspan(static_cast<std::size_t>(n));
    return out;
  }
  void finish() const {
    if (!rest_.empty())
      throw protocol_error(fmt::format("{} has {} bytes too many", what_, rest_.size()));
  }

 private:
  [[noreturn]] void truncated() const {
    throw protocol_error(fmt::format("{} is truncated", what_));
  }
  std::span<const std::byte> rest_;
  const char* what_;
};

thread_local wire_value* sink = nullptr;
thread_local handle_source* source = nullptr;

}  // namespace

wire_value* current_handle_sink() noexcept {
  return sink;
}
handle_sink_scope::handle_sink_scope(wire_value* s) noexcept : previous_(sink) {
  sink = s;
}
handle_sink_scope::~handle_sink_scope() {
  sink = previous_;
}

handle_source* current_handle_source() noexcept {
  return source;
}
handle_source_scope::handle_source_scope(handle_source* s) noexcept : previous_(source) {
  source = s;
}
handle_source_scope::~handle_source_scope() {
  source = previous_;
}

void throw_handle_outside_arguments(const char* what) {
  throw error(fmt::format(
      "{} inside a value can only travel as part of the arguments of a task, an actor call or "
      "a spawn sent to another node of a cluster; it cannot be written elsewhere (a spill "
      "file, a custom archive): pass the value in-process, or its contents instead of the "
      "handle",
      what));
}

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
    if (tag > wire_value::entry_actor) {
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
  if (owner_bytes > 255 || bytes.size() != 8 + owner_bytes + 24)
    throw protocol_error("a reference argument has the wrong size");
  wire_reference r;
  r.owner.assign(reinterpret_cast<const char*>(bytes.data() + 8), owner_bytes);
  r.id = read_u64(bytes.subspan(8 + owner_bytes));
  r.size = read_u64(bytes.subspan(16 + owner_bytes));
  r.key = read_u64(bytes.subspan(24 + owner_bytes));
  return r;
}

std::string deferred_bytes(const wire_deferred& d) {
  std::string out;
  write_text(out, d.node);
  write_u64(out, d.token);
  return out;
}

wire_deferred parse_deferred(std::span<const std::byte> bytes) {
  field_cursor in(bytes, "a deferred argument");
  wire_deferred d;
  d.node = in.text();
  d.token = in.u64();
  in.finish();
  return d;
}

std::string actor_bytes(const wire_actor& a) {
  std::string out;
  for (const std::string* text : {&a.owner, &a.id, &a.name, &a.name_space, &a.type, &a.grantor})
    write_text(out, *text);
  write_u64(out, a.grant);
  return out;
}

wire_actor parse_actor(std::span<const std::byte> bytes) {
  field_cursor in(bytes, "an actor handle argument");
  wire_actor a;
  for (std::string* text : {&a.owner, &a.id, &a.name, &a.name_space, &a.type, &a.grantor})
    *text = in.text();
  a.grant = in.u64();
  in.finish();
  return a;
}

void wire_value::append_tagged(unsigned char tag, std::span<const std::byte> body) {
  std::string entry(1, static_cast<char>(tag));
  write_u64(entry, body.size());
  entry.append(reinterpret_cast<const char*>(body.data()), body.size());
  std::string& stable = buffers_.emplace_back(std::move(entry));
  entries_.push_back({tag, pieces_.size(), 1, stable.size()});
  add_piece(std::as_bytes(std::span(stable.data(), stable.size())));
}

void wire_value::append_reference(const std::string& owner, std::uint64_t id, std::uint64_t size,
                                  std::uint64_t key) {
  std::string entry(1, static_cast<char>(entry_reference));
  write_u64(entry, 8 + owner.size() + 24);
  write_u64(entry, owner.size());
  entry += owner;
  write_u64(entry, id);
  write_u64(entry, size);
  write_u64(entry, key);
  std::string& stable = buffers_.emplace_back(std::move(entry));
  entries_.push_back({entry_reference, pieces_.size(), 1, stable.size()});
  add_piece(std::as_bytes(std::span(stable.data(), stable.size())));
}

}  // namespace weft::detail
