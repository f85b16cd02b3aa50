// Argument lists on the wire: splitting them into entries and reading reference entries.

#include "weft/detail/wire_value.hpp"

#include "weft/detail/handle_codec.hpp"

#include <fmt/core.h>

#include "weft/errors.hpp"
#include "wire/fields.hpp"

namespace weft::detail {
namespace {

// One entry: its tag, its length (8 bytes) and its bytes.
std::string entry_of(unsigned char tag, std::span<const std::byte> body) {
  std::string entry;
  wire::field_writer out(entry);
  out.u8(tag);
  out.u64(body.size());
  out.raw(body);
  return entry;
}

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
  wire::field_reader in(bytes, "argument list");
  while (!in.empty()) {
    if (in.rest().size() < 9) throw_bad_value_list(out.size(), 9, in.rest().size());
    const unsigned char tag = in.u8();
    if (tag > wire_value::entry_actor) {
      throw protocol_error(fmt::format("argument {} has an unknown tag {}", out.size(), tag));
    }
    const std::uint64_t n = in.u64();
    if (in.rest().size() < n) throw_bad_value_list(out.size(), n, in.rest().size());
    out.push_back({tag, in.bytes(n)});
  }
  return out;
}

wire_reference parse_reference(std::span<const std::byte> bytes) {
  wire::field_reader in(bytes, "reference argument");
  wire_reference r;
  r.owner = in.text();
  r.id = in.u64();
  r.size = in.u64();
  r.key = in.u64();
  in.finish();
  return r;
}

std::string deferred_bytes(const wire_deferred& d) {
  std::string out;
  wire::field_writer w(out);
  w.text(d.node, "node id");
  w.u64(d.token);
  return out;
}

wire_deferred parse_deferred(std::span<const std::byte> bytes) {
  wire::field_reader in(bytes, "deferred argument");
  wire_deferred d;
  d.node = in.text();
  d.token = in.u64();
  in.finish();
  return d;
}

std::string actor_bytes(const wire_actor& a) {
  std::string out;
  wire::field_writer w(out);
  for (const std::string* text : {&a.owner, &a.id, &a.name, &a.name_space, &a.type, &a.grantor})
    w.text(*text);
  w.u64(a.grant);
  return out;
}

wire_actor parse_actor(std::span<const std::byte> bytes) {
  wire::field_reader in(bytes, "actor handle argument");
  wire_actor a;
  for (std::string* text : {&a.owner, &a.id, &a.name, &a.name_space, &a.type, &a.grantor})
    *text = in.text();
  a.grant = in.u64();
  in.finish();
  return a;
}

void wire_value::append_tagged(unsigned char tag, std::span<const std::byte> body) {
  std::string& stable = buffers_.emplace_back(entry_of(tag, body));
  entries_.push_back({tag, pieces_.size(), 1, stable.size()});
  add_piece(std::as_bytes(std::span(stable.data(), stable.size())));
}

void wire_value::append_reference(const std::string& owner, std::uint64_t id, std::uint64_t size,
                                  std::uint64_t key) {
  std::string body;
  wire::field_writer w(body);
  w.text(owner, "node id");
  w.u64(id);
  w.u64(size);
  w.u64(key);
  std::string& stable =
      buffers_.emplace_back(entry_of(entry_reference, std::as_bytes(std::span(body))));
  entries_.push_back({entry_reference, pieces_.size(), 1, stable.size()});
  add_piece(std::as_bytes(std::span(stable.data(), stable.size())));
}

}  // namespace weft::detail
