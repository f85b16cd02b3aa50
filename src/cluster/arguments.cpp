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

// Arguments at least this large are held here and pulled by the receiver, not sent inline.
constexpr std::uint64_t hoist_min_bytes = detail::tracked_result_min_bytes;

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

// The bytes of a value entry's pieces, copied.
std::string copy_pieces(std::span<const std::span<const std::byte>> pieces) {
  std::string out;
  for (auto piece : pieces)
    out.append(reinterpret_cast<const char*>(piece.data()), piece.size());
  return out;
}

}  // namespace

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
                         detail::actor_bytes(grant_actor(*h.actor, target)));
      continue;
    }
    if (!h.state->ready() || h.state->failed()) {
      // Its value (or its error) follows the request once it is ready.
      const std::uint64_t token = export_ref(h, target, request, left);
      append_entry_bytes(table, wire_value::entry_deferred, detail::deferred_bytes({self, token}));
      continue;
    }
    auto value = std::make_shared<wire_value>();
    h.encode(*h.state, *value);
    if (!value->handles().empty()) {
      throw error(
          "a ref inside an argument refers to a value that itself holds refs or actor handles; "
          "such a value cannot be sent to another node: pass the inner values instead");
    }
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

std::uint64_t node::export_ref(const detail::wire_handle& handle, const std::string& target,
                               std::uint64_t request, outgoing_arguments& left) {
  std::lock_guard lock(mutex_);
  const std::uint64_t token = next_export_++;
  ref_export exported;
  exported.state = detail::state_ptr<detail::state_base>::share(handle.state);
  exported.encode = handle.encode;
  exported.grantee = target;
  exported.request = request;
  ref_exports_.emplace(token, std::move(exported));
  left.exports.push_back(token);
  return token;
}

void node::release_arguments(const outgoing_arguments& left) {
  objects_.release_holds(left.holds);
  if (left.exports.empty()) return;
  std::vector<ref_export> dropped;  // released after the lock
  std::lock_guard lock(mutex_);
  for (std::uint64_t token : left.exports) {
    auto found = ref_exports_.find(token);
    if (found == ref_exports_.end()) continue;
    dropped.push_back(std::move(found->second));
    ref_exports_.erase(found);
  }
}

void node::drop_exports_for(const std::string& node_id) {
  std::vector<ref_export> dropped;
  std::lock_guard lock(mutex_);
  for (auto it = ref_exports_.begin(); it != ref_exports_.end();) {
    if (it->second.grantee == node_id) {
      dropped.push_back(std::move(it->second));
      it = ref_exports_.erase(it);
    } else {
      ++it;
    }
  }
}

void node::hold_for_request(std::uint64_t request, std::uint64_t held) {
  {
    std::lock_guard lock(mutex_);
    if (auto call = pending_.find(request); call != pending_.end()) {
      call->second.left.holds.push_back(held);
      return;
    }
    if (auto spawn = spawns_.find(request); spawn != spawns_.end()) {
      spawn->second.left.holds.push_back(held);
      return;
    }
  }
  objects_.release_holds({held});  // the request is over: nobody will pull it
}

namespace {

// Sends an exported ref's value once the ref is ready; deletes itself after.
struct push_link final : detail::continuation {
  std::shared_ptr<node_handle> home;
  std::uint64_t token = 0;
  void (node::*push)(std::uint64_t) noexcept = nullptr;

  void on_ready() noexcept override {
    {
      std::lock_guard lock(home->mutex);
      if (home->self) (home->self->*push)(token);
    }
    delete this;
  }
};

}  // namespace

void node::activate_exports(const outgoing_arguments& left,
                            const std::shared_ptr<connection>& via) {
  for (std::uint64_t token : left.exports) {
    detail::state_base* state = nullptr;
    {
      std::lock_guard lock(mutex_);
      auto found = ref_exports_.find(token);
      if (found == ref_exports_.end()) continue;  // the request is over already
      found->second.via = via;
      state = found->second.state.get();
      state->retain();  // kept while subscribing: the export may be pushed and dropped meanwhile
    }
    auto* link = new push_link();
    link->home = handle_;
    link->token = token;
    link->push = &node::push_ref;
    if (!state->subscribe(link)) link->on_ready();
    state->release();
  }
}

void node::push_ref(std::uint64_t token) noexcept {
  ref_export exported;
  std::shared_ptr<connection> via;
  {
    std::lock_guard lock(mutex_);
    auto found = ref_exports_.find(token);
    if (found == ref_exports_.end()) return;  // the request ended first
    exported = std::move(found->second);
    ref_exports_.erase(found);
    via = exported.via.lock();
  }
  if (!via) return;  // its connection closed: the receiver failed the request already
  const std::string self = node_id();
  std::string prefix = request_payload(request_kind::ref_value, ref_value_header{token});
  try {
    detail::state_base& state = *exported.state;
    if (state.failed()) {
      prefix += failure_prefix(describe_exception(state.error(), self));
      via->send(wire::frame_type::request, 0, std::move(prefix));
      return;
    }
    auto value = std::make_shared<wire_value>();
    exported.encode(state, *value);
    if (!value->handles().empty()) {
      throw error(
          "a ref argument refers to a value that itself holds refs or actor handles; such a "
          "value cannot be sent to another node: pass the inner values instead");
    }
    const wire_value::entry_pieces& e = value->entries().front();
    auto span = std::span(value->pieces()).subspan(e.first_piece, e.pieces);
    prefix.push_back(static_cast<char>(response_status::ok));
    auto body = std::make_shared<wire_value>();
    body->keep_alive(value);
    if (e.tag == wire_value::entry_reference) {
      prefix.push_back(static_cast<char>(wire_value::entry_reference));
      body->append_borrowed(span.front().subspan(9));  // the entry's body, after tag and length
    } else if (e.size < hoist_min_bytes) {
      prefix.push_back(static_cast<char>(wire_value::entry_value));
      for (auto piece : span)
        body->append_borrowed(piece);
    } else {
      // Large: held here for the request's receiver to pull, until the request is answered.
      const detail::wire_reference held = hold_pieces(value, span, e);
      hold_for_request(exported.request, held.id);
      wire_value reference;
      reference.append_reference(held.owner, held.id, held.size, held.key);
      prefix.push_back(static_cast<char>(wire_value::entry_reference));
      prefix += copy_pieces(reference.pieces()).substr(9);
    }
    via->send(wire::frame_type::request, 0, std::move(prefix), std::move(body));
  } catch (...) {
    try {
      std::string failed = request_payload(request_kind::ref_value, ref_value_header{token});
      failed += failure_prefix(describe_exception(std::current_exception(), self));
      via->send(wire::frame_type::request, 0, std::move(failed));
    } catch (const std::exception& e) {
      log(log_level::debug, "cannot send the value of ref token {}: {}", token, e.what());
    }
  }
}

// ---- the receiver ----

void node::await_ref(const std::shared_ptr<connection>& via, std::uint64_t token,
                     resolve_done done) {
  early_value early;
  {
    std::lock_guard lock(mutex_);
    const auto key = std::make_pair(static_cast<const connection*>(via.get()), token);
    auto found = early_values_.find(key);
    if (found == early_values_.end()) {
      awaited_.emplace(key, pending_resolve{via.get(), std::move(done)});
      return;
    }
    early = std::move(found->second);
    early_values_.erase(found);
  }
  deliver_ref_value(early.body, early.frame, done);
}

void node::on_ref_value(connection& c, std::span<const std::byte> body) {
  // Payload after the kind byte: token, status, then a tag and an entry's bytes, or a failure.
  std::span<const std::byte> rest = body;
  const std::uint64_t token = take_front<ref_value_header>(rest, "ref value").token;
  pending_resolve waiting;
  auto frame = std::make_shared<wire::byte_buffer>(rest.begin(), rest.end());
  {
    std::lock_guard lock(mutex_);
    const auto key = std::make_pair(static_cast<const connection*>(&c), token);
    auto found = awaited_.find(key);
    if (found == awaited_.end()) {
      // Its request is still being read (it came first on this connection): keep it.
      early_values_[key] = early_value{frame, std::span<const std::byte>(*frame)};
      return;
    }
    waiting = std::move(found->second);
    awaited_.erase(found);
  }
  deliver_ref_value(std::span<const std::byte>(*frame), frame, waiting.done);
}

void node::deliver_ref_value(std::span<const std::byte> bytes, std::shared_ptr<const void> keep,
                             const resolve_done& done) {
  std::exception_ptr failed;
  unsigned char tag = 0;
  try {
    if (bytes.empty()) throw protocol_error("a ref value is truncated");
    if (bytes[0] == std::byte(response_status::failed)) {
      failed = exception_from(from_bytes<failure>(bytes.subspan(1), "ref value failure"),
                              "a ref argument");
    } else if (bytes.size() < 2) {
      throw protocol_error("a ref value is truncated");
    } else {
      tag = std::to_integer<unsigned char>(bytes[1]);
      if (tag != wire_value::entry_value && tag != wire_value::entry_reference)
        throw protocol_error(fmt::format("a ref value has the tag {}", tag));
    }
  } catch (...) {
    failed = std::current_exception();
  }
  if (failed)
    done(std::move(failed), 0, {}, nullptr);
  else
    done(nullptr, tag, bytes.subspan(2), std::move(keep));
}

void node::fail_resolves_where(const std::function<bool(const pending_resolve&)>& match,
                               const std::string& why) {
  std::vector<pending_resolve> failed;
  {
    std::lock_guard lock(mutex_);
    for (auto it = awaited_.begin(); it != awaited_.end();) {
      if (match(it->second)) {
        failed.push_back(std::move(it->second));
        it = awaited_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& r : failed) {
    r.done(std::make_exception_ptr(
               object_lost(fmt::format("a ref argument cannot be resolved: {}", why))),
           0, {}, nullptr);
  }
}

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
              s.actor = attach_arrived(detail::parse_actor(h.bytes));
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
    await_ref(a->via, deferred.token,
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
