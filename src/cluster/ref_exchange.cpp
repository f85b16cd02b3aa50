// Refs that cross nodes before they are ready (ref_exchange.hpp).

#include "ref_exchange.hpp"

#include <fmt/core.h>

#include "arguments.hpp"
#include "core/log.hpp"
#include "node.hpp"  // node_handle
#include "protocol.hpp"
#include "weft/errors.hpp"

namespace weft::cluster {
namespace {

using detail::log;
using detail::log_level;
using detail::wire_value;

// Sends an exported ref's value once the ref is ready; deletes itself after.
struct push_link final : detail::continuation {
  std::shared_ptr<node_handle> home;
  std::uint64_t token = 0;

  void on_ready() noexcept override {
    {
      std::lock_guard lock(home->mutex);
      if (home->self) home->self->refs().push(token);
    }
    delete this;
  }
};

}  // namespace

ref_exchange::ref_exchange(ref_host& host, std::shared_ptr<node_handle> handle)
    : host_(host), handle_(std::move(handle)) {}

ref_exchange::~ref_exchange() = default;

std::uint64_t ref_exchange::export_ref(const detail::wire_handle& handle, const std::string& target,
                                       std::uint64_t request) {
  std::lock_guard lock(mutex_);
  const std::uint64_t token = next_export_++;
  ref_export exported;
  exported.state = detail::state_ptr<detail::state_base>::share(handle.state);
  exported.encode = handle.encode;
  exported.grantee = target;
  exported.request = request;
  exports_.emplace(token, std::move(exported));
  return token;
}

void ref_exchange::release(const std::vector<std::uint64_t>& tokens) {
  if (tokens.empty()) return;
  std::vector<ref_export> dropped;  // released after the lock
  std::lock_guard lock(mutex_);
  for (std::uint64_t token : tokens) {
    auto found = exports_.find(token);
    if (found == exports_.end()) continue;
    dropped.push_back(std::move(found->second));
    exports_.erase(found);
  }
}

void ref_exchange::drop_exports_for(const std::string& node_id) {
  std::vector<ref_export> dropped;
  std::lock_guard lock(mutex_);
  for (auto it = exports_.begin(); it != exports_.end();) {
    if (it->second.grantee == node_id) {
      dropped.push_back(std::move(it->second));
      it = exports_.erase(it);
    } else {
      ++it;
    }
  }
}

void ref_exchange::drop_all_exports() {
  std::unordered_map<std::uint64_t, ref_export> dropped;  // released after the lock
  std::lock_guard lock(mutex_);
  dropped.swap(exports_);
}

void ref_exchange::activate(const std::vector<std::uint64_t>& tokens,
                            const std::shared_ptr<connection>& via) {
  for (std::uint64_t token : tokens) {
    detail::state_base* state = nullptr;
    {
      std::lock_guard lock(mutex_);
      auto found = exports_.find(token);
      if (found == exports_.end()) continue;  // the request is over already
      found->second.via = via;
      state = found->second.state.get();
      state->retain();  // kept while subscribing: the export may be pushed and dropped meanwhile
    }
    auto* link = new push_link();
    link->home = handle_;
    link->token = token;
    if (!state->subscribe(link)) link->on_ready();
    state->release();
  }
}

void ref_exchange::push(std::uint64_t token) noexcept {
  ref_export exported;
  std::shared_ptr<connection> via;
  {
    std::lock_guard lock(mutex_);
    auto found = exports_.find(token);
    if (found == exports_.end()) return;  // the request ended first
    exported = std::move(found->second);
    exports_.erase(found);
    via = exported.via.lock();
  }
  if (!via) return;  // its connection closed: the receiver failed the request already
  const std::string self = host_.node_id();
  try {
    send_value(exported, token, *via);
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

void ref_exchange::send_value(ref_export& exported, std::uint64_t token, connection& via) {
  std::string prefix = request_payload(request_kind::ref_value, ref_value_header{token});
  detail::state_base& state = *exported.state;
  if (state.failed()) {
    prefix += failure_prefix(describe_exception(state.error(), host_.node_id()));
    via.send(wire::frame_type::request, 0, std::move(prefix));
    return;
  }
  const std::shared_ptr<wire_value> value =
      encode_ready_ref(state, exported.encode, "a ref argument");
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
    const detail::wire_reference held = host_.hold_for_request(exported.request, value, span, e);
    wire_value reference;
    reference.append_reference(held.owner, held.id, held.size, held.key);
    prefix.push_back(static_cast<char>(wire_value::entry_reference));
    prefix += copy_pieces(reference.pieces()).substr(9);
  }
  via.send(wire::frame_type::request, 0, std::move(prefix), std::move(body));
}

void ref_exchange::await(const std::shared_ptr<connection>& via, std::uint64_t token,
                         resolve_done done) {
  early_value early;
  {
    std::lock_guard lock(mutex_);
    const link_token key{via.get(), token};
    auto found = early_values_.find(key);
    if (found == early_values_.end()) {
      awaited_.emplace(key, pending_resolve{via.get(), std::move(done)});
      return;
    }
    early = std::move(found->second);
    early_values_.erase(found);
  }
  deliver(early.body, early.frame, done);
}

void ref_exchange::on_value(connection& c, std::span<const std::byte> body) {
  // Payload after the kind byte: token, status, then a tag and an entry's bytes, or a failure.
  std::span<const std::byte> rest = body;
  const std::uint64_t token = take_front<ref_value_header>(rest, "ref value").token;
  pending_resolve waiting;
  auto frame = std::make_shared<wire::byte_buffer>(rest.begin(), rest.end());
  {
    std::lock_guard lock(mutex_);
    const link_token key{&c, token};
    auto found = awaited_.find(key);
    if (found == awaited_.end()) {
      // Its request is still being read (it came first on this connection): keep it.
      early_values_[key] = early_value{frame, std::span<const std::byte>(*frame)};
      return;
    }
    waiting = std::move(found->second);
    awaited_.erase(found);
  }
  deliver(std::span<const std::byte>(*frame), frame, waiting.done);
}

void ref_exchange::deliver(std::span<const std::byte> bytes, std::shared_ptr<const void> keep,
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

void ref_exchange::fail_awaited_where(const std::function<bool(const pending_resolve&)>& match,
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

void ref_exchange::connection_closed(const connection& c, const std::string& why) {
  fail_awaited_where([&](const pending_resolve& r) { return r.via == &c; }, why);
  std::lock_guard lock(mutex_);
  std::erase_if(early_values_, [&](const auto& e) { return e.first.first == &c; });
}

}  // namespace weft::cluster
