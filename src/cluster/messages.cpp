// Compact headers, failures, and errors for cluster messages that do not decode.

#include "messages.hpp"

#include <fmt/core.h>

#include <typeinfo>

#include "core/actor_registry.hpp"
#include "weft/errors.hpp"

namespace weft::cluster {

void put_text(std::string& out, const std::string& s) {
  append_u32(out, static_cast<std::uint32_t>(s.size()));
  out += s;
}

std::uint64_t field_reader::integer(int width) {
  need(static_cast<std::size_t>(width));
  std::uint64_t v = 0;
  for (int i = 0; i < width; ++i)
    v |= std::to_integer<std::uint64_t>(bytes_[static_cast<std::size_t>(i)]) << (8 * i);
  bytes_ = bytes_.subspan(static_cast<std::size_t>(width));
  return v;
}

std::string field_reader::text() {
  const auto n = static_cast<std::size_t>(integer(4));
  need(n);
  std::string s(reinterpret_cast<const char*>(bytes_.data()), n);
  bytes_ = bytes_.subspan(n);
  return s;
}

void field_reader::finish() const {
  if (!bytes_.empty()) throw_undecodable(what_, "bytes are left over");
}

void field_reader::need(std::size_t n) const {
  if (bytes_.size() < n) throw_undecodable(what_, "it is truncated");
}

void append_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void append_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

std::uint64_t read_u64(std::span<const std::byte> bytes, const char* what) {
  if (bytes.size() < 8) throw_undecodable(what, "a number in it is truncated");
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i)
    v |= std::to_integer<std::uint64_t>(bytes[i]) << (8 * i);
  return v;
}

void append_task_header(std::string& out, const task_header& h) {
  put_text(out, h.function);
  put_text(out, h.name);
  append_u32(out, static_cast<std::uint32_t>(h.retries));
  append_u32(out, static_cast<std::uint32_t>(h.resources.size()));
  for (const auto& [name, amount] : h.resources) {
    put_text(out, name);
    append_u64(out, static_cast<std::uint64_t>(amount));
  }
}

task_header read_task_header(std::span<const std::byte>& bytes) {
  field_reader in(bytes, "task header");
  task_header h;
  h.function = in.text();
  h.name = in.text();
  h.retries = static_cast<std::int32_t>(in.integer(4));
  const auto count = in.integer(4);
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string name = in.text();
    h.resources[std::move(name)] = static_cast<std::int64_t>(in.integer(8));
  }
  return h;
}

void append_actor_call_header(std::string& out, const actor_call_header& h) {
  put_text(out, h.actor);
  put_text(out, h.method);
  put_text(out, h.name);
  append_u32(out, static_cast<std::uint32_t>(h.retries));
}

actor_call_header read_actor_call_header(std::span<const std::byte>& bytes) {
  field_reader in(bytes, "actor call header");
  actor_call_header h;
  h.actor = in.text();
  h.method = in.text();
  h.name = in.text();
  h.retries = static_cast<std::int32_t>(in.integer(4));
  return h;
}

failure describe_exception(const std::exception_ptr& e, const std::string& node) {
  failure out;
  out.node = node;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    out.type = detail::demangle(typeid(x).name());
    out.message = x.what();
  } catch (...) {
    out.type = "unknown";
    out.message = "an exception not derived from std::exception";
  }
  return out;
}

std::string failure_prefix(const failure& f) {
  std::string prefix(1, static_cast<char>(response_status::failed));
  prefix += to_bytes(f);
  return prefix;
}

std::exception_ptr exception_from(failure f, const std::string& task) {
  if (f.type == actor_died_type) return std::make_exception_ptr(actor_died(std::move(f.message)));
  if (f.type == "weft::object_lost")
    return std::make_exception_ptr(object_lost(std::move(f.message)));
  if (f.type == "weft::cancelled_error")
    return std::make_exception_ptr(cancelled_error(std::move(f.message)));
  return std::make_exception_ptr(
      task_error(task, std::move(f.type), std::move(f.message), std::move(f.node)));
}

void throw_undecodable(const char* what, const char* why) {
  throw protocol_error(fmt::format("a {} does not decode: {}", what, why));
}

}  // namespace weft::cluster
