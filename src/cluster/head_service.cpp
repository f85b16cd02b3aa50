// The head's membership, heartbeats, named actors, status and stop (head_service.hpp).

#include "head_service.hpp"

#include <fmt/core.h>

#include <algorithm>

#include "core/log.hpp"
#include "weft/errors.hpp"

namespace weft::cluster {
namespace {
using detail::log;
using detail::log_level;

std::shared_ptr<connection> member_link(const connection* link) {
  // A member's connection is alive: lost() removes it from member_of_ first.
  return const_cast<connection*>(link)->shared_from_this();
}

std::string name_key(const actor_status& a) {
  std::string key = a.name_space;
  key += '\0';
  key += a.name;
  return key;
}
}  // namespace

head_service::head_service(const cluster_settings& settings, node_status self)
    : settings_(settings), members_(settings.cluster_name, std::move(self), clock::now()) {}

void head_service::on_join(connection& c, std::uint64_t id, std::span<const std::byte> body) {
  if (member_of_.count(&c) != 0) throw protocol_error("a node joined twice on one connection");
  node_status joining = from_record(from_bytes<node_record>(body, "join request"));
  if (joining.role != node_role::worker && joining.role != node_role::driver) {
    throw protocol_error(fmt::format("a node asked to join as '{}'", role_name(joining.role)));
  }
  std::sort(joining.functions.begin(), joining.functions.end());
  std::string new_id = joining.id;
  if (new_id.empty()) {
    new_id = members_.join(std::move(joining), clock::now());
    log(log_level::info, "node {} joined from {}", new_id, c.describe());
  } else if (std::string refused = members_.rejoin(std::move(joining), clock::now());
             !refused.empty()) {
    log(log_level::warn, "{} refused: {}", c.describe(), refused);
    c.send(wire::frame_type::response, id,
           failure_prefix(failure{"weft::error", std::move(refused), "head"}));
    return;
  } else {
    log(log_level::info, "node {} joined again from {} (it was a member under an earlier head)",
        new_id, c.describe());
  }
  member_of_[&c] = new_id;
  join_reply reply;
  reply.id = new_id;
  reply.view = to_record(members_.view(clock::now()));
  c.send(wire::frame_type::response, id, response_payload(response_status::ok, reply));
  broadcast_view();
}

void head_service::on_heartbeat(connection& c, std::span<const std::byte> body) {
  auto found = member_of_.find(&c);
  if (found == member_of_.end()) throw protocol_error("a heartbeat from a node that never joined");
  heartbeat beat = from_bytes<heartbeat>(body, "heartbeat");
  if (!members_.heartbeat(found->second, beat, clock::now())) {
    // Declared dead earlier (it was silent too long): it must not come back on this link.
    c.close(fmt::format("node {} was declared dead; restart it to join again", found->second));
  }
}

void head_service::on_status(connection& c, std::uint64_t id) const {
  cluster_status view = members_.view(clock::now());
  for (const auto& [key, named] : names_)
    view.actors.push_back(named);
  c.send(wire::frame_type::response, id, response_payload(response_status::ok, to_record(view)));
}

void head_service::on_stop(connection& c, std::uint64_t id) {
  log(log_level::info, "stopping the cluster at the request of {}", c.describe());
  c.send(wire::frame_type::response, id, std::string(1, static_cast<char>(response_status::ok)));
  std::string stop(1, static_cast<char>(request_kind::stop_node));
  for (const auto& [link, member] : member_of_)
    member_link(link)->send(wire::frame_type::request, 0, stop);
}

void head_service::tick(const heartbeat& self) {
  members_.update_self(self);
  const auto now = clock::now();
  const auto since_last = now - last_tick_;
  last_tick_ = now;
  if (since_last > 2 * settings_.heartbeat_interval) {
    // The head itself did not run for a while (a loaded machine): the heartbeats that came
    // meanwhile may still wait in its sockets. Read them before judging anyone.
    log(log_level::info, "the head was not scheduled for {} ms; no node is judged this time",
        std::chrono::duration_cast<std::chrono::milliseconds>(since_last).count());
    broadcast_view();
    return;
  }
  const std::vector<std::string> dead = members_.sweep(now, settings_.heartbeat_timeout);
  declared_dead_ += dead.size();
  for (const std::string& id : dead) {
    log(log_level::warn, "node {} missed its heartbeats for {} ms: marked dead", id,
        settings_.heartbeat_timeout.count());
    for (auto it = member_of_.begin(); it != member_of_.end(); ++it) {
      if (it->second != id) continue;
      member_link(it->first)->close(fmt::format("node {} was declared dead", id));
      member_of_.erase(it);
      break;
    }
    drop_names_of(id);
  }
  broadcast_view();
}

void head_service::lost(connection& c, const std::string& reason, bool stopping) {
  auto found = member_of_.find(&c);
  if (found == member_of_.end()) return;
  const std::string id = found->second;
  member_of_.erase(found);
  drop_names_of(id);
  if (members_.remove(id)) {
    const bool orderly = stopping || reason.rfind("the peer said goodbye", 0) == 0;
    log(orderly ? log_level::info : log_level::warn, "node {} left: {}", id, reason);
    broadcast_view();
  }
}

std::string head_service::answer_name(request_kind kind, std::span<const std::byte> body) {
  actor_status asked = from_record(from_bytes<actor_record>(body, "named actor"));
  std::string answer(1, static_cast<char>(response_status::ok));
  auto found = names_.find(name_key(asked));
  if (kind == request_kind::claim_name) {
    // One directory, one io thread: two nodes claiming the same name get one winner.
    claim_reply reply;
    if (found != names_.end()) {
      reply.holder = to_record(found->second);
    } else if (!members_.contains(asked.node)) {
      throw protocol_error(
          fmt::format("a name was claimed for node '{}', which is not a member", asked.node));
    } else {
      reply.claimed = true;
      reply.holder = to_record(asked);
      names_.emplace(name_key(asked), std::move(asked));
    }
    answer += to_bytes(reply);
    return answer;
  }
  // No live actor of that name: an actor_status with an empty id.
  answer += to_bytes(to_record(found == names_.end() ? actor_status{} : found->second));
  return answer;
}

void head_service::forget_name(std::span<const std::byte> body) {
  const actor_status gone = from_record(from_bytes<actor_record>(body, "named actor"));
  auto found = names_.find(name_key(gone));
  if (found != names_.end() && found->second.id == gone.id) names_.erase(found);
}

void head_service::drop_names_of(const std::string& node_id) {
  for (auto it = names_.begin(); it != names_.end();) {
    if (it->second.node == node_id)
      it = names_.erase(it);
    else
      ++it;
  }
}

void head_service::broadcast_view() {
  const std::string view = to_bytes(to_record(members_.view(clock::now())));
  for (const auto& [link, member] : member_of_)
    member_link(link)->send(wire::frame_type::heartbeat, 0, view);
}

}  // namespace weft::cluster
