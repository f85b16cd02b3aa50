// The actor service's owner side (exports, handles held per node, tombstones, deaths) and its
// stand-ins of actors living elsewhere. Handles inside arguments: actor_grants.cpp.

#include "actor_service.hpp"

#include <fmt/core.h>

#include "actor_proxy.hpp"
#include "core/live_actors.hpp"
#include "core/log.hpp"
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

// Gives back a handle and a reference of each of `cells`.
void drop_handles(const std::vector<detail::actor_base*>& cells) {
  for (detail::actor_base* cell : cells) {
    cell->drop_handle();
    cell->release();
  }
}

}  // namespace

actor_service::actor_service(detail::runtime_core& core, actor_links& links,
                             std::shared_ptr<node_handle> handle)
    : core_(core), links_(links), handle_(std::move(handle)) {}

std::string actor_service::new_actor_id() {
  return fmt::format("{}/{}", links_.node_id(),
                     next_actor_.fetch_add(1, std::memory_order_relaxed));
}

void actor_service::tell(const std::string& node_id, request_kind kind,
                         const std::string& body) noexcept {
  try {
    if (std::shared_ptr<connection> via = links_.link_to_member(node_id)) {
      std::string request(1, static_cast<char>(kind));
      request += body;
      via->send(wire::frame_type::request, 0, std::move(request));
    }
  } catch (const std::exception& e) {
    log(log_level::debug, "cannot tell node {} about an actor: {}", node_id, e.what());
  }
}

// ---- the owner's side ----

void actor_service::export_actor(detail::actor_base* cell, const actor_status& named,
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
    if (!named.name.empty()) links_.forget_claim(named);
    return;
  }
  cell->mark_exported();
  // It may have died before it was marked: then nobody reported it.
  if (cell->final_error()) actor_died(*cell);
}

std::string actor_service::export_id_of(const detail::actor_base& cell) {
  std::lock_guard lock(mutex_);
  auto found = export_ids_.find(&cell);
  return found != export_ids_.end() ? found->second : std::string();
}

void actor_service::add_tombstone(const std::string& id, const std::string& message) {
  std::lock_guard lock(mutex_);
  add_tombstone_locked(id, message);
}

void actor_service::add_tombstone_locked(const std::string& id, const std::string& message) {
  if (!tombstones_.emplace(id, message).second) return;
  tombstone_order_.push_back(id);
  if (tombstone_order_.size() > max_tombstones) {
    tombstones_.erase(tombstone_order_.front());
    tombstone_order_.pop_front();
  }
}

std::string actor_service::tombstone(const std::string& id) {
  {
    std::lock_guard lock(mutex_);
    auto found = tombstones_.find(id);
    if (found != tombstones_.end()) return found->second;
  }
  return fmt::format("actor {} is not on node {}: it ended, or it was never spawned there", id,
                     links_.node_id());
}

detail::actor_base* actor_service::exported_cell(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto found = exports_.find(id);
  if (found == exports_.end()) return nullptr;
  found->second.cell->retain();
  return found->second.cell;
}

void actor_service::on_attach_actor(connection& c, std::uint64_t request,
                                    std::span<const std::byte> body) {
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
  if (extra) drop_handles({extra});
  if (request != 0) {  // a lookup waiting for the answer
    if (attached) {
      c.send(wire::frame_type::response, request,
             std::string(1, static_cast<char>(response_status::ok)));
    } else {
      failure gone{std::string(actor_died_type), tombstone(id), links_.node_id()};
      c.send(wire::frame_type::response, request, failure_prefix(gone));
    }
    return;
  }
  if (!attached) {
    actor_end ended;
    ended.id = id;
    ended.message = tombstone(id);
    c.send(wire::frame_type::request, 0, request_payload(request_kind::actor_ended, ended));
  }
}

void actor_service::on_release_actor(connection& c, std::span<const std::byte> body) {
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
  if (cell) drop_handles({cell});
}

void actor_service::on_kill_actor(connection& c, std::span<const std::byte> body) {
  const std::string id = from_bytes<actor_id_message>(body, "actor id").actor;
  if (detail::actor_base* cell = exported_cell(id)) {
    log(log_level::info, "{} killed at the request of {}", cell->describe(), c.describe());
    cell->kill("killed by runtime::kill", false);
    cell->release();
  }
}

void actor_service::drop_holders_for(const connection& c) {
  std::vector<detail::actor_base*> dropped;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, e] : exports_) {
      if (e.holders.erase(&c) != 0) {
        e.cell->retain();
        dropped.push_back(e.cell);
      }
    }
    // Its parked attaches and calls go with it (nobody is left to answer).
    std::erase_if(parked_attaches_, [&](const auto& entry) { return entry.second.link == &c; });
    std::erase_if(parked_calls_, [&](const auto& entry) {
      if (entry.first.first != &c) return false;
      for (const parked_call& call : entry.second) {
        --parked_call_count_;
        parked_call_bytes_ -= call.bytes;
      }
      return true;
    });
  }
  drop_handles(dropped);
}

void actor_service::actor_died(detail::actor_base& actor) noexcept {
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
      named.node = links_.node_id();
      named.id = id;
      links_.forget_claim(named);
    }
    actor_end ended;
    ended.id = id;
    ended.message = message;
    const std::string notice = request_payload(request_kind::actor_ended, ended);
    for (auto& [link, weak] : gone.holders)
      if (auto c = weak.lock()) c->send(wire::frame_type::request, 0, notice);
  } catch (const std::exception& e) {
    log(log_level::warn, "cannot report the death of {}: {}", actor.describe(), e.what());
  }
  for (std::size_t i = 0; i < gone.holders.size(); ++i)
    actor.drop_handle();
  actor.release();  // the export's reference; whoever made it die holds another
}

// ---- stand-ins ----

actor_proxy* actor_service::existing_proxy(const std::string& id) {
  actor_proxy* ending = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto found = proxies_.find(id);
    if (found == proxies_.end() || !found->second->try_retain()) return nullptr;
    if (found->second->try_add_handle()) return found->second;  // one stand-in per actor per node
    ending = found->second;
  }
  // Outside the lock: the last reference deletes the stand-in, which forgets itself here.
  ending->release();
  return nullptr;
}

detail::actor_base* actor_service::attach_proxy(const actor_status& where,
                                                const std::type_info& type) {
  if (actor_proxy* p = existing_proxy(where.id)) return p;
  // The owner counts this node as a holder before the stand-in exists, and says whether the
  // actor still lives (a lookup of an ending actor finds nothing).
  const wire::byte_buffer answer =
      links_.ask_node(where.node, request_kind::attach_actor, to_bytes(actor_id_message{where.id}));
  if (answer[0] != std::byte(response_status::ok)) return nullptr;
  if (actor_proxy* p = existing_proxy(where.id)) return p;  // made by another thread meanwhile
  actor_options shown;
  shown.name = where.name;
  shown.namespace_ = where.name_space;
  actor_proxy* proxy = make_proxy(core_, shown, type, handle_, where.node, where.id);
  add_proxy(where.id, proxy);
  return proxy;
}

void actor_service::add_proxy(const std::string& id, actor_proxy* proxy) {
  std::lock_guard lock(mutex_);
  proxies_[id] = proxy;
}

actor_proxy* actor_service::retained_proxy(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto found = proxies_.find(id);
  if (found != proxies_.end() && found->second->try_retain()) return found->second;
  return nullptr;
}

void actor_service::forget_proxy(const std::string& id, const actor_proxy* proxy) noexcept {
  std::lock_guard lock(mutex_);
  auto found = proxies_.find(id);
  if (found != proxies_.end() && found->second == proxy) proxies_.erase(found);
}

void actor_service::forget_all_proxies() noexcept {
  std::lock_guard lock(mutex_);
  proxies_.clear();
}

std::vector<actor_status> actor_service::named_exports(const std::string& self) {
  std::vector<actor_status> named;
  std::lock_guard lock(mutex_);
  for (const auto& [id, e] : exports_) {
    if (!e.name.empty()) named.push_back(actor_status{e.name, e.name_space, e.type, self, id});
  }
  return named;
}

std::vector<actor_proxy*> actor_service::named_proxies_of(const std::string& node_id) {
  std::vector<actor_proxy*> named;
  std::lock_guard lock(mutex_);
  for (auto& [id, proxy] : proxies_) {
    if (proxy->name().empty() || proxy->spawned_here() || proxy->owner() != node_id ||
        proxy->restarting())
      continue;
    if (proxy->try_retain()) named.push_back(proxy);
  }
  return named;
}

void actor_service::proxies_lost(const std::string& node_id, const std::string& why) {
  std::vector<actor_proxy*> lost;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, proxy] : proxies_)
      if (proxy->owner() == node_id && !proxy->restarting() && proxy->try_retain())
        lost.push_back(proxy);
  }
  for (actor_proxy* proxy : lost) {
    proxy->owner_ended(fmt::format("{} died: {}", proxy->describe(), why));
    proxy->release();
  }
}

void actor_service::on_actor_ended(std::span<const std::byte> body) {
  const actor_end ended = from_bytes<actor_end>(body, "actor end");
  if (actor_proxy* proxy = retained_proxy(ended.id)) {
    proxy->owner_ended(ended.message);
    proxy->release();
  }
}

}  // namespace weft::cluster
