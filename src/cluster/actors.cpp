// Actors across nodes (DESIGN.md section 5). The spawner places an actor once (pinned, by
// resources, or by load) and claims its name with the head; calls then go straight to the
// owning node through a local stand-in (actor_proxy), in order. The owner keeps one handle per
// node holding the actor (released when that node lets go or its connection closes) and, when
// the actor dies, tells those nodes and frees the name.

#include <boost/asio/post.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <thread>

#include "actor_proxy.hpp"
#include "arguments.hpp"
#include "core/live_actors.hpp"
#include "core/log.hpp"
#include "core/runtime_core.hpp"
#include "node.hpp"
#include "placement.hpp"
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

std::string node::place_actor(const detail::cluster_spawn_request& request,
                              const detail::actor_type* type, bool can_travel) {
  const actor_options& o = *request.options;
  const std::string type_name = type ? type->name : detail::type_name(*request.type);
  auto why_not = [&]() -> std::string {
    if (type == nullptr) return fmt::format("{} is not registered with WEFT_ACTOR", type_name);
    if (!request.encode) return "its constructor arguments cannot be sent between processes";
    return "actor_options::restart_on cannot be sent to another process (max_restarts can)";
  };
  std::lock_guard lock(mutex_);
  if (!o.node.empty()) {
    if (o.node == id_) return "";
    if (!can_travel) {
      throw error(fmt::format("cannot spawn {} on node {} (actor_options::node): {}", type_name,
                              o.node, why_not()));
    }
    for (const node_status& n : view_.nodes) {
      if (n.id != o.node) continue;
      if (n.role == node_role::head ||
          !std::binary_search(n.actor_types.begin(), n.actor_types.end(), type->name)) {
        throw error(fmt::format(
            "cannot spawn {} on node {} (actor_options::node): that node's program does not "
            "register it (WEFT_ACTOR({}, ...)), or it is the head",
            type_name, o.node, type_name));
      }
      return o.node;
    }
    throw error(fmt::format(
        "cannot spawn {} on node '{}' (actor_options::node): no such live node in the cluster",
        type_name, o.node));
  }
  // A detached actor spawned by a driver belongs to the cluster, not to the driver: it goes to
  // a worker, so that it outlives the driver (as a detached actor does in Ray).
  const bool outlive_driver =
      o.lifetime == lifetime::detached && settings_.role != node_role::worker;
  const bool fits_here = fits(core_.settings().resources, o.resources);
  const bool free_here = fits(core_.spare_resources(), o.resources);
  if (fits_here && !outlive_driver) {
    if (!can_travel) return "";
    // As for tasks: local while the local load (counting this actor) stays within the
    // threshold, and its resources are free here; a threshold of 0 sends every actor that can
    // travel to a worker.
    const std::uint64_t live = core_.live_tasks();
    const std::uint64_t local = live > in_flight_total_ ? live - in_flight_total_ : 0;
    if (local + 1 <= local_threshold() && free_here) return "";
  } else if (!can_travel) {
    if (outlive_driver && fits_here) {
      log(log_level::warn,
          "detached {} stays in this process ({}), so it ends when {} exits: {}; register it "
          "with WEFT_ACTOR so that a worker can host it",
          request.options->name.empty() ? type_name : "'" + request.options->name + "'", id_, id_,
          why_not());
    }
    return "";  // the local spawn refuses it when it lacks the resources, naming them
  }
  // Among the workers that register the type and have the resources: those with them free now
  // first (counting what this node placed there since their last heartbeat), else any (the
  // actor then waits there until a holder ends, and the log says so).
  std::vector<placement_candidate> candidates;
  for (const node_status& n : view_.nodes)
    if (n.id != id_ && fits(expected_available(n), o.resources))
      candidates.push_back({&n, in_flight_[n.id] + actors_placed_[n.id]});
  std::optional<std::size_t> pick =
      choose_node(candidates, &node_status::actor_types, type->name, o.resources, rotation_++);
  if (pick) {
    ++actors_placed_[candidates[*pick].node->id];  // spreads the next ones
    return candidates[*pick].node->id;
  }
  if (fits_here && free_here && !outlive_driver) return "";
  candidates.clear();
  for (const node_status& n : view_.nodes)
    if (n.id != id_) candidates.push_back({&n, in_flight_[n.id] + actors_placed_[n.id]});
  pick = choose_node(candidates, &node_status::actor_types, type->name, o.resources, rotation_++);
  const std::string shown =
      request.options->name.empty() ? type_name : "'" + request.options->name + "'";
  if (pick) {
    const std::string& target = candidates[*pick].node->id;
    ++actors_placed_[target];
    log(log_level::warn,
        "actor {} needs {}, which no node of the cluster has free now ({}); it waits on {} until "
        "they are released",
        shown, format_resources(o.resources), describe_resource_holders(o.resources), target);
    return target;
  }
  if (fits_here) {
    if (outlive_driver) {
      log(log_level::warn,
          "detached actor {} stays in this process ({}), so it ends when {} exits: no live worker "
          "registers actor type {}{}",
          shown, id_, id_, type_name,
          o.resources.empty() ? "" : " with resources " + format_resources(o.resources));
    }
    return "";
  }
  throw error(fmt::format(
      "actor {} needs resources {} that this node lacks, and no live worker of the cluster "
      "registers actor type {} with them ({})",
      shown, format_resources(o.resources), type_name, describe_resource_holders(o.resources)));
}

detail::actor_base* node::spawn_actor(detail::cluster_spawn_request& request) {
  const actor_options& options = *request.options;
  const detail::actor_type* type = detail::find_actor_type(*request.type);
  const bool can_travel = type != nullptr && request.encode && !options.restart_on;
  const std::string target = place_actor(request, type, can_travel);
  const std::string self = node_id();
  actor_status named;
  named.name = options.name;
  named.name_space = options.namespace_.empty() ? core_.settings().namespace_ : options.namespace_;
  named.type = type ? type->name : detail::type_name(*request.type);
  named.node = target.empty() ? self : target;
  if (!options.name.empty() || !target.empty()) named.id = new_actor_id();
  // An actor that is ending still holds its name at the head until its owner has told the
  // head; meanwhile a spawn of the name waits for it to be free (bounded), as in-process,
  // where the name of an ending actor is free at once.
  const auto patience = std::max(settings_.connect_timeout, settings_.heartbeat_timeout);
  const auto deadline = clock::now() + patience;
  while (!options.name.empty()) {
    const wire::byte_buffer answer = ask_head(request_kind::claim_name, to_bytes(to_record(named)));
    const claim_reply reply = from_bytes<claim_reply>(std::span(answer).subspan(1), "claim reply");
    if (reply.claimed) break;
    const actor_status holder = from_record(reply.holder);
    if (request.get_existing && holder.type != named.type) {
      throw error(
          fmt::format("get_or_spawn: the actor named '{}' in namespace '{}' is a {}, not a {}",
                      holder.name, holder.name_space, holder.type, named.type));
    }
    if (holder.node == self) {
      detail::actor_base* here =
          core_.actors().try_find(holder.name, holder.name_space, *request.type);
      if (here != nullptr && request.get_existing) return here;
      if (here != nullptr) {
        here->drop_handle();
        here->release();
      }
      if (here == nullptr) {
        // Ending here: wait until its end has freed the name at the head.
        if (clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
    } else {
      // Alive (then it is the answer, or a duplicate), or ended: its owner frees the name at
      // the head soon; wait for that.
      if (detail::actor_base* there = attach_proxy(holder, *request.type)) {
        if (request.get_existing) return there;
        there->drop_handle();
        there->release();
      } else {
        if (clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
    }
    throw error(fmt::format(
        "an actor named '{}' already exists in namespace '{}' (on node {}); look it up with "
        "get_actor, use get_or_spawn to share it, or kill it first",
        holder.name, holder.name_space, holder.node));
  }
  if (!options.name.empty() && clock::now() >= deadline) {
    throw error(fmt::format(
        "{}: the actor named '{}' in namespace '{}' is ending, and its name was still taken at "
        "the head after {} ms (is its node overloaded?); try again later",
        request.get_existing ? "get_or_spawn" : "spawn", named.name, named.name_space,
        std::chrono::duration_cast<std::chrono::milliseconds>(patience).count()));
  }
  if (target.empty()) {
    detail::actor_base* cell = nullptr;
    try {
      cell = request.spawn_here();
    } catch (...) {
      if (!options.name.empty()) forget_claim(named);
      throw;
    }
    if (!options.name.empty()) export_actor(cell, named, nullptr);
    return cell;
  }
  spawn_order order;
  order.id = named.id;
  order.type = type->name;
  order.factory = request.factory;
  order.name = options.name;
  order.name_space = named.name_space;
  order.max_concurrency = options.max_concurrency;
  order.max_restarts = options.max_restarts;
  order.detached = options.lifetime == lifetime::detached ? 1 : 0;
  order.resources = options.resources;
  actor_options shown;
  shown.name = options.name;
  shown.namespace_ = named.name_space;
  actor_proxy* proxy = nullptr;
  try {
    std::shared_ptr<detail::wire_value> arguments = request.encode();
    proxy = make_proxy(core_, shown, *request.type, handle_, target, named.id);
    {
      std::lock_guard lock(mutex_);
      proxies_[named.id] = proxy;
    }
    send_spawn(target, std::move(order), std::move(arguments));
  } catch (const std::exception& e) {
    if (!options.name.empty()) forget_claim(named);
    if (proxy) {
      proxy->owner_ended(fmt::format("{} died: it could not be sent to node {}: {}",
                                     proxy->describe(), target, e.what()));
      proxy->drop_handle();
      proxy->release();
    }
    throw;
  }
  log(log_level::debug, "{} spawned on node {} as {}", proxy->describe(), target, named.id);
  return proxy;
}

void node::send_spawn(const std::string& target, spawn_order order,
                      std::shared_ptr<detail::wire_value> arguments) {
  std::string prefix = request_payload(request_kind::spawn_actor, order);
  std::shared_ptr<connection> via;
  const std::uint64_t id = next_request_.fetch_add(1, std::memory_order_relaxed);
  outgoing_arguments left;
  std::shared_ptr<detail::wire_value> body;
  try {
    body = prepare_arguments(arguments, target, id, left);
    std::lock_guard lock(mutex_);
    for (const node_status& n : view_.nodes)
      if (n.id == target) via = peer_connection(n);
    if (!via) throw error(fmt::format("node {} is no longer in the cluster", target));
    // Its arguments (and what they left here) are kept until the owner answers, which it
    // does once it has gathered them.
    spawns_.emplace(id, pending_spawn{order.id, target, left, arguments, order.resources});
    if (!order.resources.empty()) reservations_.push_back({target, order.resources, id, 0});
  } catch (...) {
    release_arguments(left);
    throw;
  }
  via->send(wire::frame_type::request, id, std::move(prefix), std::move(body));
  refs_.activate(left.exports, via);  // their values follow the request on its connection
}

bool node::complete_spawn(std::uint64_t id, std::span<const std::byte> payload) {
  pending_spawn spawn;
  {
    std::lock_guard lock(mutex_);
    auto found = spawns_.find(id);
    if (found == spawns_.end()) return false;
    spawn = std::move(found->second);
    spawns_.erase(found);
    const bool ok = payload[0] == std::byte(response_status::ok);
    for (auto it = reservations_.begin(); it != reservations_.end(); ++it) {
      if (it->request != id) continue;
      if (ok && payload.size() >= 9) {
        it->request = 0;  // until a later heartbeat of that node shows the actor
        it->after = from_bytes<spawn_answer>(payload.subspan(1), "spawn answer").heartbeats_sent;
      } else {
        reservations_.erase(it);
      }
      break;
    }
  }
  release_arguments(spawn.left);
  if (payload[0] == std::byte(response_status::ok)) return true;
  failure f = from_bytes<failure>(payload.subspan(1), "spawn failure");
  actor_proxy* proxy = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto found = proxies_.find(spawn.actor);
    if (found != proxies_.end() && found->second->try_retain()) proxy = found->second;
  }
  if (proxy) {
    proxy->owner_ended(fmt::format("{} died: it could not be spawned on node {}: {}",
                                   proxy->describe(), f.node, f.message));
    proxy->release();
  }
  return true;
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
    std::shared_ptr<connection> via;
    {
      std::lock_guard lock(mutex_);
      for (const node_status& n : view_.nodes)
        if (n.id == node_id) via = peer_connection(n);
    }
    if (via) via->send(wire::frame_type::request, 0, request_with(kind, body));
  } catch (const std::exception& e) {
    log(log_level::debug, "cannot tell node {} about an actor: {}", node_id, e.what());
  }
}

std::exception_ptr node::forward_call(actor_proxy& proxy, detail::task_base& call) noexcept {
  try {
    std::shared_ptr<connection> via;
    {
      std::lock_guard lock(mutex_);
      if (stopped_.load()) {
        return std::make_exception_ptr(cancelled_error(
            fmt::format("call to {} was cancelled: the runtime shut down", proxy.describe())));
      }
      for (const node_status& n : view_.nodes)
        if (n.id == proxy.owner()) via = peer_connection(n);
    }
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

void node::serve_spawn(connection& c, std::uint64_t id, wire::frame&& request) {
  // Payload: kind byte, spawn order, encoded argument entries.
  auto owned = std::make_shared<wire::byte_buffer>(std::move(request.payload));
  std::span<const std::byte> body = std::span<const std::byte>(*owned).subspan(1);
  spawn_order order = take_front<spawn_order>(body, "spawn order");
  auto via = shared(c);
  std::shared_ptr<arrival> a = receive_arguments(owned, detail::split_entries(body), via);
  const std::string self = node_id();
  actor_status named;
  named.name = order.name;
  named.name_space = order.name_space;
  named.type = order.type;
  named.node = self;
  named.id = order.id;
  auto refuse = [&](std::exception_ptr why) {
    failure f = describe_exception(why, self);
    const std::string message = fmt::format("actor {} ({}) could not be spawned on node {}: {}",
                                            order.id, order.type, self, f.message);
    log(log_level::warn, "{}", message);
    add_tombstone(order.id, message);
    if (!order.name.empty()) forget_claim(named);
    c.send(wire::frame_type::response, id, failure_prefix(f));
  };
  const detail::actor_factory factory = detail::find_actor_factory(order.factory);
  if (factory == nullptr) {
    refuse(std::make_exception_ptr(error(fmt::format(
        "this node's program cannot build a {} from the given argument types: a spawn<{}> with "
        "the same argument types must appear in the program this node runs (WEFT_ACTOR alone "
        "covers the default constructor)",
        order.type, order.type))));
    return;
  }
  actor_options options;
  options.name = order.name;
  options.namespace_ = order.name_space;
  options.max_concurrency = order.max_concurrency;
  options.max_restarts = order.max_restarts;
  options.lifetime = order.detached ? lifetime::detached : lifetime::owned;
  options.resources = order.resources;
  // Arguments still to pull or resolve: the actor exists at once (calls queue behind its
  // construction), and is built once they are here (the gate).
  std::optional<ref<bool>> gate;
  if (!a->complete()) {
    auto* gate_state = new detail::plain_state<bool>();
    gate = detail::ref_access::make(detail::state_ptr<detail::state<bool>>(gate_state));
  }
  detail::actor_base* cell = nullptr;
  try {
    cell = factory(&core_, options, a->arguments, gate ? &*gate : nullptr);
  } catch (...) {
    refuse(std::current_exception());
    return;
  }
  export_actor(cell, named, &c);  // the factory's handle is now the spawner's
  cell->release();                // the export holds its own reference
  if (!gate) {
    answer_spawn(via, id);
    return;
  }
  a->done = [this, via, id, gate = *gate](std::exception_ptr failed) {
    auto* st = detail::ref_access::state_of(gate);
    if (failed) {
      st->fail(std::move(failed));  // the actor dies, telling the spawner why
    } else {
      st->emplace_value(true);
      st->commit_value();
    }
    answer_spawn(via, id);
  };
  gather(a);
}

void node::answer_spawn(const std::shared_ptr<connection>& via, std::uint64_t id) {
  // With the count of heartbeats sent so far: the spawner counts the actor's resources as
  // taken here until a later heartbeat shows them.
  const spawn_answer answer{heartbeats_sent_.load(std::memory_order_acquire)};
  via->send(wire::frame_type::response, id, response_payload(response_status::ok, answer));
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
