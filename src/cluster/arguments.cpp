// A request's arguments between nodes (DESIGN.md section 5). The sender keeps large values
// where they are (the receiver pulls them), exports refs that are not ready yet under tokens
// (it sends each one's value after the request, on its connection, once the ref is ready),
// and turns the refs and actor handles found inside values into a table of entries. The receiver
// gathers all of it before the values are decoded; the sender keeps what it left for the request
// until the request is answered, which the receiver does only after gathering, so nothing it still
// needs can go away first.

#include "arguments.hpp"

#include <boost/asio/post.hpp>

#include <fmt/core.h>

#include <cstring>

#include "actor_proxy.hpp"
#include "core/log.hpp"
#include "core/runtime_core.hpp"
#include "node.hpp"
#include "weft/errors.hpp"

namespace weft::cluster {
namespace {

using detail::log;
using detail::log_level;
using detail::wire_value;

void append_entry_bytes(std::string& out, unsigned char tag, std::span<const std::byte> body) {
  wire::field_writer w(out);
  w.u8(tag);
  w.u64(body.size());
  w.raw(body);
}

void append_entry_bytes(std::string& out, unsigned char tag, const std::string& body) {
  append_entry_bytes(out, tag, std::as_bytes(std::span(body.data(), body.size())));
}

std::string le32(std::uint32_t v) {
  std::string out;
  wire::field_writer(out).u32(v);
  return out;
}

std::uint32_t read_u32(std::span<const std::byte> bytes) {
  wire::field_reader in(bytes, "deferred argument's handle index");
  const std::uint32_t v = in.u32();
  in.finish();
  return v;
}

}  // namespace

std::string copy_pieces(std::span<const std::span<const std::byte>> pieces) {
  std::string out;
  for (auto piece : pieces)
    out.append(reinterpret_cast<const char*>(piece.data()), piece.size());
  return out;
}

std::shared_ptr<wire_value> encode_ready_ref(detail::state_base& state,
                                             detail::ref_value_encoder encode, const char* what) {
  auto value = std::make_shared<wire_value>();
  encode(state, *value);
  if (!value->handles().empty()) {
    throw error(fmt::format(
        "{} refers to a value that itself holds refs or actor handles; such a value cannot be "
        "sent to another node: pass the inner values instead",
        what));
  }
  return value;
}

// ---- handle_table, arrival ----

handle_table::~handle_table() {
  for (slot& s : slots_) {
    if (s.actor == nullptr) continue;
    s.actor->drop_handle();
    s.actor->release();
  }
}

handle_table::resolved_ref handle_table::ref_at(std::uint32_t index) {
  if (index >= slots_.size() || slots_[index].is_actor) {
    throw protocol_error(
        fmt::format("a value names ref handle {} of {}, which is not a ref", index, slots_.size()));
  }
  return {slots_[index].bytes, slots_[index].error};
}

detail::actor_base* handle_table::actor_at(std::uint32_t index, const std::type_info& type) {
  if (index >= slots_.size() || !slots_[index].is_actor) {
    throw protocol_error(fmt::format("a value names actor handle {} of {}, which is not an actor",
                                     index, slots_.size()));
  }
  const slot& s = slots_[index];
  if (s.error) std::rethrow_exception(s.error);
  if (s.actor->type() != type) {
    throw error(fmt::format("an argument holds a handle to {}, not to a {}", s.actor->describe(),
                            detail::type_name(type)));
  }
  // A handle per decoding (a retried task decodes its arguments again).
  s.actor->retain();
  s.actor->add_handle();
  return s.actor;
}

void handle_table::keep(std::shared_ptr<const void> owner) {
  std::lock_guard lock(keep_mutex_);
  keep_.push_back(std::move(owner));
}

void arrival::fail(std::exception_ptr e) noexcept {
  std::lock_guard lock(mutex_);
  if (!error_) error_ = std::move(e);
}

void arrival::keep(std::shared_ptr<const void> owner) {
  std::lock_guard lock(mutex_);
  arguments->keep.push_back(std::move(owner));
}

void arrival::arrived() noexcept {
  if (missing_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  for (const auto& [index, handle] : from_table) {
    const handle_table::slot& s = table->slots()[handle];
    if (s.error)
      fail(s.error);
    else
      arguments->values[index] = s.bytes;
  }
  std::exception_ptr first;
  {
    std::lock_guard lock(mutex_);
    first = error_;
  }
  auto finish = std::move(done);
  if (finish) finish(first);
}

// ---- the sender ----

std::shared_ptr<wire_value> node::prepare_arguments(std::shared_ptr<wire_value> body,
                                                    const std::string& target,
                                                    std::uint64_t request,
                                                    outgoing_arguments& left) {
  bool any = !body->handles().empty();
  for (const auto& e : body->entries())
    any = any || (e.tag == wire_value::entry_value && e.size >= hoist_min_bytes);
  if (!any) return body;
  bool can_be_pulled = false;
  {
    std::lock_guard lock(mutex_);
    can_be_pulled = !listen_address_.empty();
  }
  auto out = std::make_shared<wire_value>();
  out->keep_alive(body);
  const auto& pieces = body->pieces();
  for (const auto& e : body->entries()) {
    auto span = std::span(pieces).subspan(e.first_piece, e.pieces);
    if (e.tag == wire_value::entry_reference) {
      for (auto piece : span)
        out->append_borrowed(piece);
    } else if (e.tag == wire_value::entry_deferred) {
      const std::string index = le32(e.handle);
      out->append_tagged(wire_value::entry_deferred, std::as_bytes(std::span(index)));
    } else if (e.size < hoist_min_bytes || !can_be_pulled) {
      out->append_entry_pieces(span, e.size);
    } else {
      // Large values stay here and the receiver pulls them in chunks: no frame size limit, and
      // the request itself stays small.
      const detail::wire_reference held = hold_pieces(body, span, e);
      left.holds.push_back(held.id);
      out->append_reference(held.owner, held.id, held.size, held.key);
    }
  }
  if (!body->handles().empty()) {
    std::string table;
    append_handle_entries(*body, target, request, left, table);
    out->append_tagged(wire_value::entry_handles, std::as_bytes(std::span(table)));
  }
  return out;
}

void node::append_handle_entries(const wire_value& body, const std::string& target,
                                 std::uint64_t request, outgoing_arguments& left,
                                 std::string& table) {
  const std::string self = node_id();
  for (const detail::wire_handle& h : body.handles()) {
    if (h.actor != nullptr) {
      append_entry_bytes(table, wire_value::entry_actor,
                         detail::actor_bytes(actors_.grant_actor(*h.actor, target)));
      continue;
    }
    if (!h.state->ready() || h.state->failed()) {
      // Its value (or its error) follows the request once it is ready.
      const std::uint64_t token = refs_.export_ref(h, target, request);
      left.exports.push_back(token);
      append_entry_bytes(table, wire_value::entry_deferred, detail::deferred_bytes({self, token}));
      continue;
    }
    const std::shared_ptr<wire_value> value =
        encode_ready_ref(*h.state, h.encode, "a ref inside an argument");
    const wire_value::entry_pieces& e = value->entries().front();
    auto span = std::span(value->pieces()).subspan(e.first_piece, e.pieces);
    if (e.tag == wire_value::entry_reference) {
      table += copy_pieces(span);  // the whole entry, as written
    } else if (e.size < hoist_min_bytes) {
      append_entry_bytes(table, wire_value::entry_value, copy_pieces(span));
    } else {
      const detail::wire_reference held = hold_pieces(value, span, e);
      left.holds.push_back(held.id);
      wire_value reference;
      reference.append_reference(held.owner, held.id, held.size, held.key);
      table += copy_pieces(reference.pieces());
    }
  }
}

detail::wire_reference node::hold_pieces(std::shared_ptr<const wire_value> owner,
                                         std::span<const std::span<const std::byte>> pieces,
                                         const wire_value::entry_pieces& entry) {
  auto held = std::make_shared<wire_value>();
  held->keep_alive(std::move(owner));
  for (auto piece : pieces)
    held->append_borrowed(piece);
  // The value of a tracked object carries its key: a node that pulled it once keeps it for
  // the next request naming it, until the object is gone here.
  const std::uint64_t key = entry.source ? objects_.watch_object(*entry.source) : 0;
  const std::uint64_t id = objects_.hold(std::move(held), nullptr, key);
  return detail::wire_reference{node_id(), id, entry.size, key};
}

void node::release_arguments(const outgoing_arguments& left) {
  objects_.release_holds(left.holds);
  refs_.release(left.exports);
}

detail::wire_reference node::hold_for_request(std::uint64_t request,
                                              std::shared_ptr<const wire_value> owner,
                                              std::span<const std::span<const std::byte>> pieces,
                                              const wire_value::entry_pieces& entry) {
  const detail::wire_reference held = hold_pieces(std::move(owner), pieces, entry);
  {
    std::lock_guard lock(mutex_);
    if (calls_.add_hold(request, held.id)) return held;
    if (auto spawn = spawns_.find(request); spawn != spawns_.end()) {
      spawn->second.left.holds.push_back(held.id);
      return held;
    }
  }
  objects_.release_holds({held.id});  // the request is over: nobody will pull it
  return held;
}

// ---- the receiver ----

std::shared_ptr<detail::arrived_arguments> plain_arguments(
    std::shared_ptr<wire::byte_buffer> request, const std::vector<detail::wire_entry>& entries) {
  for (const detail::wire_entry& e : entries)
    if (e.tag != wire_value::entry_value) return nullptr;
  auto arguments = std::make_shared<detail::arrived_arguments>();
  arguments->keep.push_back(std::move(request));
  arguments->values.reserve(entries.size());
  for (const detail::wire_entry& e : entries)
    arguments->values.push_back(e.bytes);
  return arguments;
}

std::shared_ptr<arrival> node::receive_arguments(std::shared_ptr<wire::byte_buffer> request,
                                                 const std::vector<detail::wire_entry>& split,
                                                 std::shared_ptr<connection> via) {
  auto a = std::make_shared<arrival>();
  a->arguments = std::make_shared<detail::arrived_arguments>();
  a->arguments->keep.push_back(request);
  a->via = std::move(via);
  auto& values = a->arguments->values;
  for (std::size_t i = 0; i < split.size(); ++i) {
    const detail::wire_entry& e = split[i];
    switch (e.tag) {
      case wire_value::entry_value:
        values.push_back(e.bytes);
        break;
      case wire_value::entry_reference:
        a->pulls.emplace_back(values.size(), detail::parse_reference(e.bytes));
        values.emplace_back();
        break;
      case wire_value::entry_deferred:
        a->from_table.emplace_back(values.size(), read_u32(e.bytes));
        values.emplace_back();
        break;
      case wire_value::entry_handles: {
        if (i + 1 != split.size()) throw protocol_error("the handle table is not the last entry");
        const std::vector<detail::wire_entry> handles = detail::split_entries(e.bytes);
        a->table = std::make_shared<handle_table>(handles.size());
        for (std::uint32_t k = 0; k < handles.size(); ++k) {
          handle_table::slot& s = a->table->slots()[k];
          const detail::wire_entry& h = handles[k];
          if (h.tag == wire_value::entry_value) {
            s.bytes = h.bytes;
          } else if (h.tag == wire_value::entry_reference) {
            a->table_pulls.emplace_back(k, detail::parse_reference(h.bytes));
          } else if (h.tag == wire_value::entry_deferred) {
            a->table_resolves.emplace_back(k, detail::parse_deferred(h.bytes));
          } else if (h.tag == wire_value::entry_actor) {
            s.is_actor = true;
            try {
              s.actor = actors_.attach_arrived(detail::parse_actor(h.bytes));
            } catch (const protocol_error&) {
              throw;
            } catch (...) {
              s.error = std::current_exception();
            }
          } else {
            throw protocol_error(fmt::format("the handle table holds an entry tagged {}", h.tag));
          }
        }
        break;
      }
      default:
        throw protocol_error(fmt::format("argument {} has the tag {}", i, e.tag));
    }
  }
  for (const auto& [index, handle] : a->from_table) {
    if (!a->table || handle >= a->table->slots().size() || a->table->slots()[handle].is_actor)
      throw protocol_error(fmt::format("argument {} names a ref handle that is not there", index));
  }
  a->arguments->handles = a->table;
  return a;
}

void node::gather(const std::shared_ptr<arrival>& a) {
  for (const auto& [index, where] : a->pulls) {
    a->expect();
    objects_.start_pull(
        where, true,
        [a, index = index](std::exception_ptr e, std::shared_ptr<const wire::byte_buffer> bytes) {
          if (e) {
            a->fail(std::move(e));
          } else {
            a->arguments->values[index] = *bytes;
            a->keep(std::move(bytes));
          }
          a->arrived();
        });
  }
  // A table entry's value: its bytes arrived (pulled, or sent after the request).
  auto land = [a](std::uint32_t k, std::exception_ptr e, std::span<const std::byte> bytes,
                  std::shared_ptr<const void> keep) {
    handle_table::slot& s = a->table->slots()[k];
    if (e) {
      s.error = std::move(e);
    } else {
      s.bytes = bytes;
      a->table->keep(std::move(keep));
    }
    a->arrived();
  };
  auto pull_into = [this, land](std::uint32_t k, const detail::wire_reference& where) {
    objects_.start_pull(
        where, true,
        [land, k](std::exception_ptr e, std::shared_ptr<const wire::byte_buffer> bytes) {
          if (e)
            land(k, std::move(e), {}, nullptr);
          else
            land(k, nullptr, *bytes, bytes);
        });
  };
  for (const auto& [k, where] : a->table_pulls) {
    a->expect();
    pull_into(k, where);
  }
  for (const auto& [k, deferred] : a->table_resolves) {
    a->expect();
    refs_.await(a->via, deferred.token,
                [land, pull_into, k = k](std::exception_ptr e, unsigned char tag,
                                         std::span<const std::byte> bytes,
                                         std::shared_ptr<const void> keep) {
                  if (e) {
                    land(k, std::move(e), {}, nullptr);
                  } else if (tag == wire_value::entry_value) {
                    land(k, nullptr, bytes, std::move(keep));
                  } else {
                    try {
                      pull_into(k, detail::parse_reference(bytes));
                    } catch (...) {
                      land(k, std::current_exception(), {}, nullptr);
                    }
                  }
                });
  }
  a->arrived();  // the gathering's own count: done runs once everything above has
}

}  // namespace weft::cluster
