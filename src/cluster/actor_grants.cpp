// The actor service's handles that travel inside arguments (a std::vector<weft::actor<T>> passed to
// a task, a spawn, an actor call). The owner of an actor counts one handle per node holding it; a
// node that sends a handle to another asks the owner, on its own link to it and before the request
// leaves, to hold a handle for the receiver under a grant (a token). The receiver attaches
// under that grant when it decodes the handle. Whichever of grant and attach reaches the
// owner first, the actor keeps a handle for the receiver from the grant on, so the sender may
// drop its own handle as soon as its request is answered. The attach may even come before the
// actor's spawn (the spawn and the grant travel on the sender's link to the owner, the attach
// on the receiver's, and nothing orders two links): it is parked until the grant, which
// follows the spawn, arrives.

#include <fmt/core.h>

#include <algorithm>

#include "actor_proxy.hpp"
#include "actor_service.hpp"
#include "core/log.hpp"
#include "node.hpp"
#include "weft/detail/actor_types.hpp"
#include "weft/errors.hpp"

namespace weft::cluster {
namespace {

using detail::log;
using detail::log_level;

// Attaches seen before their grants, kept to match them (the oldest are forgotten past this).
constexpr std::size_t max_early_attaches = 4096;
// Calls waiting behind parked attaches, at most, in number and in bytes: a peer cannot make
// this node keep more.
constexpr std::size_t max_parked_calls = 4096;
constexpr std::size_t max_parked_call_bytes = 256u << 20;

std::string grant_key(const std::string& grantor, std::uint64_t token) {
  return fmt::format("{}/{}", grantor, token);
}

}  // namespace

detail::wire_actor actor_service::grant_actor(detail::actor_base& cell, const std::string& target) {
  const detail::actor_type* type = detail::find_actor_type(cell.type());
  if (type == nullptr) {
    throw error(fmt::format(
        "{} cannot be sent to another node inside an argument: its type is not registered with "
        "WEFT_ACTOR",
        cell.describe()));
  }
  detail::wire_actor out;
  out.name = cell.name();
  out.name_space = cell.name_space();
  out.type = type->name;
  out.grantor = links_.node_id();
  out.grant = next_grant_.fetch_add(1, std::memory_order_relaxed);
  if (cell.is_proxy()) {
    const auto& proxy = static_cast<const actor_proxy&>(cell);
    out.owner = proxy.owner();
    out.id = proxy.id();
  } else {
    out.owner = out.grantor;
    std::string id = export_id_of(cell);
    if (id.empty()) {
      // Reachable from other nodes from now on (its death is reported to them).
      actor_status described;
      described.name_space = out.name_space;
      described.type = out.type;
      described.node = out.owner;
      described.id = id = new_actor_id();
      export_actor(&cell, described, nullptr);
      id = export_id_of(cell);
    }
    out.id = id;
  }
  const std::string grant = to_bytes(handle_grant{out.id, target, out.grantor, out.grant});
  if (out.owner == out.grantor) {
    on_grant_actor(std::as_bytes(std::span(grant)));
  } else {
    // On this node's own link to the owner, before the request that carries the handle.
    std::string body(1, static_cast<char>(request_kind::grant_actor));
    body += grant;
    std::shared_ptr<connection> via = links_.link_to_member(out.owner);
    if (!via) {
      throw weft::actor_died(
          fmt::format("{} died: node {} left the cluster", cell.describe(), out.owner));
    }
    via->send(wire::frame_type::request, 0, std::move(body));
  }
  return out;
}

void actor_service::on_grant_actor(std::span<const std::byte> body) {
  handle_grant g = from_bytes<handle_grant>(body, "actor grant");
  const std::string& actor = g.actor;
  const std::string& grantee = g.grantee;
  const std::string key = grant_key(g.grantor, g.token);
  std::shared_ptr<connection> ended;  // a parked attacher to tell the actor is gone
  detail::actor_base* surplus = nullptr;
  std::vector<std::function<void()>> replays;  // calls that waited for the parked attach
  {
    std::lock_guard lock(mutex_);
    if (early_attaches_.erase(key) != 0) return;  // the grantee attached already, with its own
    auto found = exports_.find(actor);
    const bool held = found != exports_.end() && found->second.cell->try_add_handle();
    if (auto parked = parked_attaches_.find(key); parked != parked_attaches_.end()) {
      // The grantee attached before the actor was here: the grant's handle is its link's.
      std::shared_ptr<connection> via = parked->second.via.lock();
      take_parked_calls(parked->second.link, actor, replays);
      parked_attaches_.erase(parked);
      if (!held) {
        ended = std::move(via);
      } else if (via && !via->has_closed() && found->second.holders.count(via.get()) == 0) {
        found->second.holders.emplace(via.get(), via);
      } else {
        surplus = found->second.cell;  // its link is gone, or holds a handle already
        surplus->retain();
      }
    } else if (held) {
      grants_.emplace(key, actor_grant{actor, grantee});
    }
  }
  if (surplus) {
    surplus->drop_handle();
    surplus->release();
  }
  if (ended) tell_ended(*ended, actor);
  for (auto& replay : replays)
    replay();  // served now, or refused with the actor's death when it did not come
}

bool actor_service::park_call(const connection& c, const std::string& actor, std::size_t bytes,
                              std::function<void()> replay) {
  std::lock_guard lock(mutex_);
  if (parked_call_count_ >= max_parked_calls ||
      parked_call_bytes_ + bytes > max_parked_call_bytes) {
    return false;
  }
  const bool waiting = std::any_of(
      parked_attaches_.begin(), parked_attaches_.end(),
      [&](const auto& entry) { return entry.second.link == &c && entry.second.actor == actor; });
  if (!waiting) return false;
  parked_calls_[{&c, actor}].push_back(parked_call{bytes, std::move(replay)});
  ++parked_call_count_;
  parked_call_bytes_ += bytes;
  return true;
}

void actor_service::take_parked_calls(const connection* link, const std::string& actor,
                                      std::vector<std::function<void()>>& out) {
  // Only when no other attach of this link to this actor still waits.
  const bool others =
      std::count_if(parked_attaches_.begin(), parked_attaches_.end(), [&](const auto& entry) {
        return entry.second.link == link && entry.second.actor == actor;
      }) > 1;
  if (others) return;
  auto found = parked_calls_.find({link, actor});
  if (found == parked_calls_.end()) return;
  for (parked_call& call : found->second) {
    --parked_call_count_;
    parked_call_bytes_ -= call.bytes;
    out.push_back(std::move(call.replay));
  }
  parked_calls_.erase(found);
}

void actor_service::park_attach(
    const std::string& key, const std::string& actor, connection& c,
    std::vector<std::pair<std::shared_ptr<connection>, std::string>>& ended,
    std::vector<std::function<void()>>& replays) {
  parked_attaches_[key] = parked_attach{actor, &c, c.weak_from_this()};
  parked_attach_order_.push_back(key);
  while (parked_attach_order_.size() > max_early_attaches) {
    // Its grant never came (its sender died): the attacher hears that the actor is gone.
    auto oldest = parked_attaches_.find(parked_attach_order_.front());
    parked_attach_order_.pop_front();
    if (oldest == parked_attaches_.end()) continue;
    take_parked_calls(oldest->second.link, oldest->second.actor, replays);
    if (auto via = oldest->second.via.lock())
      ended.emplace_back(std::move(via), oldest->second.actor);
    parked_attaches_.erase(oldest);
  }
}

void actor_service::tell_ended(connection& c, const std::string& actor) {
  actor_end notice;
  notice.id = actor;
  notice.message = tombstone(actor);
  c.send(wire::frame_type::request, 0, request_payload(request_kind::actor_ended, notice));
}

void actor_service::on_attach_granted(connection& c, std::span<const std::byte> body) {
  const grant_attach attach = from_bytes<grant_attach>(body, "actor attach");
  const std::string& actor = attach.actor;
  const std::string key = grant_key(attach.grantor, attach.token);
  detail::actor_base* surplus = nullptr;  // a handle to give back (this link holds one)
  bool ended = false;
  // Parked too long: told their actor ended.
  std::vector<std::pair<std::shared_ptr<connection>, std::string>> evicted;
  std::vector<std::function<void()>> replays;  // calls behind an evicted attach
  {
    std::lock_guard lock(mutex_);
    auto found = exports_.find(actor);
    if (found == exports_.end() && tombstones_.count(actor) == 0) {
      park_attach(key, actor, c, evicted, replays);  // its spawn has not arrived yet
    } else if (found == exports_.end()) {
      ended = true;
    } else {
      exported_actor& e = found->second;
      const bool granted = grants_.erase(key) != 0;  // its handle is this link's now
      if (!granted) remember_early_attach(key);
      if (e.holders.count(&c) != 0) {
        if (granted) {
          surplus = e.cell;
          surplus->retain();
        }
      } else if (granted || e.cell->try_add_handle()) {
        e.holders.emplace(&c, c.weak_from_this());
      } else {
        ended = true;
      }
    }
  }
  if (surplus) {
    surplus->drop_handle();
    surplus->release();
  }
  if (ended) tell_ended(c, actor);
  for (const auto& [via, id] : evicted)
    tell_ended(*via, id);
  for (auto& replay : replays)
    replay();
}

void actor_service::remember_early_attach(const std::string& key) {
  // mutex_ held. Its grant is on its way (or was lost with its sender, hence the bound).
  early_attaches_.insert(key);
  early_attach_order_.push_back(key);
  if (early_attach_order_.size() > max_early_attaches) {
    early_attaches_.erase(early_attach_order_.front());
    early_attach_order_.pop_front();
  }
}

detail::actor_base* actor_service::attach_arrived(const detail::wire_actor& entry) {
  const detail::actor_type* type = detail::find_actor_type(entry.type);
  if (type == nullptr) {
    throw error(fmt::format(
        "an argument holds a handle to actor '{}' of type {}, but this node's program does not "
        "register {} with WEFT_ACTOR",
        entry.id, entry.type, entry.type));
  }
  const std::string key = grant_key(entry.grantor, entry.grant);
  if (entry.owner == links_.node_id()) {
    // The actor lives here: the grant (made on the sender's link to us, before its request)
    // becomes the handle handed out.
    detail::actor_base* cell = nullptr;
    bool granted = false;
    {
      std::lock_guard lock(mutex_);
      granted = grants_.erase(key) != 0;
      if (!granted) remember_early_attach(key);
      auto found = exports_.find(entry.id);
      if (found != exports_.end()) {
        cell = found->second.cell;
        cell->retain();
      }
    }
    if (cell != nullptr && (granted || cell->try_add_handle())) return cell;
    if (cell != nullptr) {
      cell->release();
    } else if (granted) {
      log(log_level::debug, "a grant for actor {} outlived it", entry.id);
    }
    throw weft::actor_died(tombstone(entry.id));
  }
  actor_proxy* proxy = existing_proxy(entry.id);
  if (proxy == nullptr) {
    actor_options shown;
    shown.name = entry.name;
    shown.namespace_ = entry.name_space;
    proxy = make_proxy(core_, shown, *type->type, handle_, entry.owner, entry.id);
    add_proxy(entry.id, proxy);
  }
  tell(entry.owner, request_kind::attach_granted,
       to_bytes(grant_attach{entry.id, entry.grantor, entry.grant}));
  return proxy;
}

void actor_service::drop_grants_for(const std::string& node_id) {
  std::vector<detail::actor_base*> dropped;
  // Attaches parked for a grant that node would have sent: their grant never comes, so their
  // nodes hear the actor is gone, and the calls behind them are refused.
  std::vector<std::pair<std::shared_ptr<connection>, std::string>> ended;
  std::vector<std::function<void()>> replays;
  {
    std::lock_guard lock(mutex_);
    const std::string prefix = node_id + "/";
    for (auto it = parked_attaches_.begin(); it != parked_attaches_.end();) {
      if (it->first.rfind(prefix, 0) != 0) {
        ++it;
        continue;
      }
      take_parked_calls(it->second.link, it->second.actor, replays);
      if (auto via = it->second.via.lock()) ended.emplace_back(std::move(via), it->second.actor);
      it = parked_attaches_.erase(it);
    }
    for (auto it = grants_.begin(); it != grants_.end();) {
      if (it->second.grantee != node_id) {
        ++it;
        continue;
      }
      if (auto found = exports_.find(it->second.actor); found != exports_.end()) {
        found->second.cell->retain();
        dropped.push_back(found->second.cell);
      }
      it = grants_.erase(it);
    }
  }
  for (detail::actor_base* cell : dropped) {
    cell->drop_handle();
    cell->release();
  }
  for (const auto& [via, id] : ended)
    tell_ended(*via, id);
  for (auto& replay : replays)
    replay();
}

}  // namespace weft::cluster
