// Actors across nodes (DESIGN.md section 5), once spawned (actor_spawn.cpp): names asked of
// the head, lookups, and calls that go straight to the owning node through a local stand-in
// (actor_proxy), in order. The owner keeps one handle per
// node holding the actor (released when that node lets go or its connection closes) and, when
// the actor dies, tells those nodes and frees the name.

#include <boost/asio/post.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <cstring>

#include "actor_proxy.hpp"
#include "arguments.hpp"
#include "core/live_actors.hpp"
#include "core/log.hpp"
#include "core/runtime_core.hpp"
#include "node.hpp"
#include "weft/errors.hpp"

namespace weft::cluster {
namespace {

using detail::log;
using detail::log_level;

// Ended actors whose death messages are kept for late callers.
constexpr std::size_t max_tombstones = 4096;

std::string death_message(const detail::actor_base& actor) {
  try {
    if (std::exception_ptr e = actor.final_error()) std::rethrow_exception(e);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
  }
  return fmt::format("{} died", actor.describe());
}

std::string request_with(request_kind kind, const std::string& body) {
  std::string out(1, static_cast<char>(kind));
  out += body;
  return out;
}

}  // namespace

std::string node::new_actor_id() {
  std::lock_guard lock(mutex_);
  return fmt::format("{}/{}", id_, next_actor_++);
}

wire::byte_buffer node::ask_head(request_kind kind, const std::string& body) {
  auto promise = std::make_shared<std::promise<wire::byte_buffer>>();
  std::future<wire::byte_buffer> answer = promise->get_future();
  std::uint64_t id = 0;
  if (settings_.role == node_role::head) {
    asio::post(io_, [this, promise, kind, body] {
      try {
        const std::string out = head_service_->answer_name(kind, std::as_bytes(std::span(body)));
        wire::byte_buffer bytes(out.size());
        std::memcpy(bytes.data(), out.data(), out.size());
        promise->set_value(std::move(bytes));
      } catch (...) {
        promise->set_exception(std::current_exception());
      }
    });
  } else {
    std::shared_ptr<connection> head;
    id = next_request_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(mutex_);
      if (stopped_.load() || !head_ || !head_->is_open())
        throw error("cannot ask the head: this node is not connected to it");
      head = head_;
      asks_.emplace(id, promise);
    }
    head->send(wire::frame_type::request, id, request_with(kind, body));
  }
  const auto limit = std::max(settings_.connect_timeout, settings_.heartbeat_timeout);
  if (answer.wait_for(limit) != std::future_status::ready) {
    std::lock_guard lock(mutex_);
    asks_.erase(id);
    throw error(fmt::format("the head at {} did not answer within {} ms", settings_.address,
                            std::chrono::duration_cast<std::chrono::milliseconds>(limit).count()));
  }
  wire::byte_buffer reply = answer.get();
  if (reply.empty()) throw protocol_error("an empty answer from the head");
  if (reply[0] == std::byte(response_status::failed)) {
    failure f = from_bytes<failure>(std::span(reply).subspan(1), "head failure");
    throw error(f.message);
  }
  return reply;
}

bool node::complete_ask(std::uint64_t id, wire::frame& f) {
  std::shared_ptr<std::promise<wire::byte_buffer>> waiting;
  {
    std::lock_guard lock(mutex_);
    auto found = asks_.find(id);
    if (found == asks_.end()) return false;
    waiting = std::move(found->second);
    asks_.erase(found);
  }
  waiting->set_value(std::move(f.payload));
  return true;
}

void node::fail_asks(const std::string& why) {
  std::unordered_map<std::uint64_t, std::shared_ptr<std::promise<wire::byte_buffer>>> failed;
  {
    std::lock_guard lock(mutex_);
    failed.swap(asks_);
  }
  for (auto& [id, p] : failed)
    p->set_exception(std::make_exception_ptr(error(fmt::format("cannot ask the head: {}", why))));
}

void node::forget_claim(const actor_status& named) noexcept {
  try {
    std::string body = to_bytes(to_record(named));
    if (settings_.role == node_role::head) {
      asio::post(io_, [this, body = std::move(body)] {
        head_service_->forget_name(std::as_bytes(std::span(body)));
      });
      return;
    }
    std::shared_ptr<connection> head;
    {
      std::lock_guard lock(mutex_);
      head = head_;
    }
    if (head)
      head->send(wire::frame_type::request, 0, request_with(request_kind::forget_name, body));
  } catch (const std::exception& e) {
    log(log_level::warn, "cannot free the name '{}' at the head: {}", named.name, e.what());
  }
}

detail::actor_base* node::find_actor(const std::string& name, const std::string& ns,
                                     const std::type_info& type) {
  actor_status asked;
  asked.name = name;
  asked.name_space = ns;
  const wire::byte_buffer answer = ask_head(request_kind::find_name, to_bytes(to_record(asked)));
  const actor_status where =
      from_record(from_bytes<actor_record>(std::span(answer).subspan(1), "named actor"));
  if (where.id.empty()) return nullptr;         // no live actor of that name in the cluster
  if (where.node == node_id()) return nullptr;  // it was here and has just ended
  const detail::actor_type* registered = detail::find_actor_type(type);
  if (registered == nullptr) {
    throw error(fmt::format(
        "get_actor<{}>: the actor named '{}' lives on node {}; reaching it from here needs "
        "WEFT_ACTOR({}, ...) in this program",
        detail::type_name(type), name, where.node, detail::type_name(type)));
  }
  if (registered->name != where.type) {
    throw error(fmt::format("the actor named '{}' in namespace '{}' is a {}, not a {}", name, ns,
                            where.type, registered->name));
  }
  return attach_proxy(where, type);
}

detail::actor_base* node::attach_proxy(const actor_status& where, const std::type_info& type) {
  auto existing_proxy = [&]() -> actor_proxy* {
    std::lock_guard lock(mutex_);
    auto found = proxies_.find(where.id);
    if (found == proxies_.end() || !found->second->try_retain()) return nullptr;
    if (found->second->try_add_handle()) return found->second;  // one stand-in per actor per node
    found->second->release();
    return nullptr;
  };
  if (actor_proxy* p = existing_proxy()) return p;
  // The owner counts this node as a holder before the stand-in exists, and says whether the
  // actor still lives (a lookup of an ending actor finds nothing).
  const wire::byte_buffer answer =
      ask_node(where.node, request_kind::attach_actor, to_bytes(actor_id_message{where.id}));
  if (answer[0] != std::byte(response_status::ok)) return nullptr;
  if (actor_proxy* p = existing_proxy()) return p;  // made by another thread meanwhile
  actor_options shown;
  shown.name = where.name;
  shown.namespace_ = where.name_space;
  actor_proxy* proxy = make_proxy(core_, shown, type, handle_, where.node, where.id);
  std::lock_guard lock(mutex_);
  proxies_[where.id] = proxy;
  return proxy;
}

void node::send_to_node(const std::string& node_id, request_kind kind, std::string body) noexcept {
  try {
    if (std::shared_ptr<connection> via = link_to_member(node_id))
      via->send(wire::frame_type::request, 0, request_with(kind, body));
  } catch (const std::exception& e) {
    log(log_level::debug, "cannot tell node {} about an actor: {}", node_id, e.what());
  }
}

std::exception_ptr node::forward_call(actor_proxy& proxy, detail::task_base& call) noexcept {
  try {
    if (stopped_.load()) {
      return std::make_exception_ptr(cancelled_error(
          fmt::format("call to {} was cancelled: the runtime shut down", proxy.describe())));
    }
    std::shared_ptr<connection> via = link_to_member(proxy.owner());
    if (!via) {
      return std::make_exception_ptr(weft::actor_died(
          fmt::format("{} died: node {} left the cluster", proxy.describe(), proxy.owner())));
    }
    actor_call_header header;
    header.actor = proxy.id();
    header.method = call.remote()->name;
    header.name = call.extras() ? call.extras()->name : std::string();
    header.retries = call.extras() ? call.extras()->retries_left : 0;
    std::string prefix(1, static_cast<char>(request_kind::call_actor));
    wire::append(prefix, header);
    bool unsent = false;
    std::exception_ptr failed =
        send_call(call, proxy.owner(), std::move(via), std::move(prefix), unsent);
    if (failed && unsent && !stopped_.load()) {
      return std::make_exception_ptr(weft::actor_died(fmt::format(
          "{} died: the connection to node {} closed", proxy.describe(), proxy.owner())));
    }
    return failed;
  } catch (...) {
    return std::current_exception();
  }
}

void node::kill_remote_actor(const std::string& owner, const std::string& id) noexcept {
  send_to_node(owner, request_kind::kill_actor, to_bytes(actor_id_message{id}));
}

void node::release_remote_actor(const std::string& owner, const std::string& id) noexcept {
  if (stopped_.load()) return;  // the owner lets go when the connection closes
  send_to_node(owner, request_kind::release_actor, to_bytes(actor_id_message{id}));
}

void node::forget_proxy(const std::string& id, const actor_proxy* proxy) noexcept {
  std::lock_guard lock(mutex_);
  auto found = proxies_.find(id);
  if (found != proxies_.end() && found->second == proxy) proxies_.erase(found);
}

void node::proxies_lost(const std::string& node_id, const std::string& why) {
  std::vector<actor_proxy*> lost;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, proxy] : proxies_)
      if (proxy->owner() == node_id && proxy->try_retain()) lost.push_back(proxy);
  }
  for (actor_proxy* proxy : lost) {
    proxy->owner_ended(fmt::format("{} died: {}", proxy->describe(), why));
    proxy->release();
  }
}

void node::on_actor_ended(std::span<const std::byte> body) {
  const actor_end ended = from_bytes<actor_end>(body, "actor end");
  actor_proxy* proxy = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto found = proxies_.find(ended.id);
    if (found != proxies_.end() && found->second->try_retain()) proxy = found->second;
  }
  if (proxy) {
    proxy->owner_ended(ended.message);
    proxy->release();
  }
}

// ---- the owner's side ----

void node::export_actor(detail::actor_base* cell, const actor_status& named,
                        const connection* holder) {
  bool duplicate = false;
  {
    std::lock_guard lock(mutex_);
    if (export_ids_.count(cell) != 0) {
      duplicate = true;  // get_or_spawn found it here: it is exported already
    } else {
      cell->retain();
      exported_actor e;
      e.cell = cell;
      e.name = named.name;
      e.name_space = named.name_space;
      e.type = named.type;
      if (holder) e.holders.emplace(holder, const_cast<connection*>(holder)->shared_from_this());
      exports_.emplace(named.id, std::move(e));
      export_ids_.emplace(cell, named.id);
    }
  }
  if (duplicate) {
    if (!named.name.empty()) forget_claim(named);
    return;
  }
  cell->mark_exported();
  // It may have died before it was marked: then nobody reported it.
  if (cell->final_error()) actor_died(*cell);
}

void node::add_tombstone(const std::string& id, const std::string& message) {
  std::lock_guard lock(mutex_);
  add_tombstone_locked(id, message);
}

void node::add_tombstone_locked(const std::string& id, const std::string& message) {
  if (!tombstones_.emplace(id, message).second) return;
  tombstone_order_.push_back(id);
  if (tombstone_order_.size() > max_tombstones) {
    tombstones_.erase(tombstone_order_.front());
    tombstone_order_.pop_front();
  }
}

std::string node::tombstone(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto found = tombstones_.find(id);
  if (found != tombstones_.end()) return found->second;
  return fmt::format("actor {} is not on node {}: it ended, or it was never spawned there", id,
                     id_);
}

detail::actor_base* node::exported_cell(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto found = exports_.find(id);
  if (found == exports_.end()) return nullptr;
  found->second.cell->retain();
  return found->second.cell;
}

void node::on_attach_actor(connection& c, std::uint64_t request, std::span<const std::byte> body) {
  const std::string id = from_bytes<actor_id_message>(body, "actor id").actor;
  detail::actor_base* extra = nullptr;
  bool attached = false;
  {
    std::lock_guard lock(mutex_);
    auto found = exports_.find(id);
    if (found != exports_.end() && found->second.cell->try_add_handle()) {
      attached = true;
      auto& holders = found->second.holders;
      if (holders.count(&c) != 0) {
        extra = found->second.cell;  // this node holds it already: one handle per node
        extra->retain();
      } else {
        holders.emplace(&c, c.shared_from_this());
      }
    }
  }
  if (extra) {
    extra->drop_handle();
    extra->release();
  }
  if (request != 0) {  // a lookup waiting for the answer
    if (attached) {
      c.send(wire::frame_type::response, request,
             std::string(1, static_cast<char>(response_status::ok)));
    } else {
      failure gone{std::string(actor_died_type), tombstone(id), node_id()};
      c.send(wire::frame_type::response, request, failure_prefix(gone));
    }
    return;
  }
  if (!attached) {
    actor_end ended;
    ended.id = id;
    ended.message = tombstone(id);
    c.send(wire::frame_type::request, 0, request_with(request_kind::actor_ended, to_bytes(ended)));
  }
}

void node::on_release_actor(connection& c, std::span<const std::byte> body) {
  const std::string id = from_bytes<actor_id_message>(body, "actor id").actor;
  detail::actor_base* cell = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto found = exports_.find(id);
    if (found != exports_.end() && found->second.holders.erase(&c) != 0) {
      cell = found->second.cell;
      cell->retain();
    }
  }
  if (cell) {
    cell->drop_handle();
    cell->release();
  }
}

void node::on_kill_actor(connection& c, std::span<const std::byte> body) {
  const std::string id = from_bytes<actor_id_message>(body, "actor id").actor;
  if (detail::actor_base* cell = exported_cell(id)) {
    log(log_level::info, "{} killed at the request of {}", cell->describe(), c.describe());
    cell->kill("killed by runtime::kill", false);
    cell->release();
  }
}

void node::drop_holders_for(const connection& c) {
  std::vector<detail::actor_base*> dropped;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, e] : exports_) {
      if (e.holders.erase(&c) != 0) {
        e.cell->retain();
        dropped.push_back(e.cell);
      }
    }
  }
  for (detail::actor_base* cell : dropped) {
    cell->drop_handle();
    cell->release();
  }
}

void node::actor_died(detail::actor_base& actor) noexcept {
  exported_actor gone;
  std::string id;
  const std::string message = death_message(actor);
  try {
    {
      // The tombstone replaces the export at once: a call arriving now gets the death message.
      std::lock_guard lock(mutex_);
      auto found = export_ids_.find(&actor);
      if (found == export_ids_.end()) return;
      id = found->second;
      export_ids_.erase(found);
      auto entry = exports_.find(id);
      gone = std::move(entry->second);
      exports_.erase(entry);
      add_tombstone_locked(id, message);
    }
    if (!gone.name.empty()) {
      actor_status named;
      named.name = gone.name;
      named.name_space = gone.name_space;
      named.type = gone.type;
      named.node = node_id();
      named.id = id;
      forget_claim(named);
    }
    actor_end ended;
    ended.id = id;
    ended.message = message;
    const std::string notice = request_with(request_kind::actor_ended, to_bytes(ended));
    for (auto& [link, weak] : gone.holders)
      if (auto c = weak.lock()) c->send(wire::frame_type::request, 0, notice);
  } catch (const std::exception& e) {
    log(log_level::warn, "cannot report the death of {}: {}", actor.describe(), e.what());
  }
  for (std::size_t i = 0; i < gone.holders.size(); ++i)
    actor.drop_handle();
  actor.release();  // the export's reference; whoever made it die holds another
}

}  // namespace weft::cluster
