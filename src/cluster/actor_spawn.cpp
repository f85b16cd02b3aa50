// Spawning actors across nodes (DESIGN.md section 5). The spawner places an actor once
// (pinned, by resources, or by load), claims its name with the head and, when it goes
// elsewhere, sends the spawn order with the constructor's arguments and returns a stand-in at
// once; the owner builds the actor once the arguments are here and answers. Resources of an
// actor placed elsewhere are reserved here until a heartbeat of its node shows them.

#include <fmt/core.h>

#include <algorithm>
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

// Why an actor of `type` (nullptr: not registered) cannot be spawned in another process.
std::string why_it_cannot_travel(const detail::cluster_spawn_request& request,
                                 const detail::actor_type* type, const std::string& type_name) {
  if (type == nullptr) return fmt::format("{} is not registered with WEFT_ACTOR", type_name);
  if (!request.encode)
    return "its constructor arguments cannot be sent between processes (one has no codec: "
           "name its type with WEFT_SERIALIZABLE, from weft/remote.hpp)";
  return "actor_options::restart_on cannot be sent to another process (max_restarts can)";
}

// The actor as log lines and errors show it: its name, else its type.
std::string shown_as(const detail::cluster_spawn_request& request, const std::string& type_name) {
  return request.options->name.empty() ? type_name : "'" + request.options->name + "'";
}

// The order that spawns the actor `named` (of registered type `type`) on another node.
spawn_order order_for(const detail::cluster_spawn_request& request, const actor_status& named,
                      const detail::actor_type& type) {
  const actor_options& options = *request.options;
  spawn_order order;
  order.id = named.id;
  order.type = type.name;
  order.factory = request.factory;
  order.name = options.name;
  order.name_space = named.name_space;
  order.max_concurrency = options.max_concurrency;
  order.max_restarts = options.max_restarts;
  order.detached = options.lifetime == lifetime::detached ? 1 : 0;
  order.resources = options.resources;
  return order;
}

// The options the owner builds an actor with, from its spawn order.
actor_options options_of(const spawn_order& order) {
  actor_options options;
  options.name = order.name;
  options.namespace_ = order.name_space;
  options.max_concurrency = order.max_concurrency;
  options.max_restarts = order.max_restarts;
  options.lifetime = order.detached ? lifetime::detached : lifetime::owned;
  options.resources = order.resources;
  return options;
}

}  // namespace

std::string node::place_actor(const detail::cluster_spawn_request& request,
                              const detail::actor_type* type, bool can_travel) {
  const actor_options& o = *request.options;
  const std::string type_name = type ? type->name : detail::type_name(*request.type);
  std::lock_guard lock(mutex_);
  if (!o.node.empty()) {
    if (o.node == id_) return "";
    if (!can_travel) {
      throw error(fmt::format("cannot spawn {} on node {} (actor_options::node): {}", type_name,
                              o.node, why_it_cannot_travel(request, type, type_name)));
    }
    return pinned_node(o.node, type->name);
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
    const std::uint64_t sent = view_.in_flight_total();
    const std::uint64_t local = live > sent ? live - sent : 0;
    if (local + 1 <= local_threshold() && free_here) return "";
  } else if (!can_travel) {
    if (outlive_driver && fits_here) {
      log(log_level::warn,
          "detached {} stays in this process ({}), so it ends when {} exits: {}; register it "
          "with WEFT_ACTOR so that a worker can host it",
          shown_as(request, type_name), id_, id_, why_it_cannot_travel(request, type, type_name));
    }
    return "";  // the local spawn refuses it when it lacks the resources, naming them
  }
  return place_elsewhere(request, type->name, fits_here, fits_here && free_here && !outlive_driver,
                         outlive_driver);
}

std::string node::pinned_node(const std::string& pinned, const std::string& type_name) const {
  if (const std::optional<node_status> n = view_.member(pinned)) {
    if (n->role == node_role::head ||
        !std::binary_search(n->actor_types.begin(), n->actor_types.end(), type_name)) {
      throw error(fmt::format(
          "cannot spawn {} on node {} (actor_options::node): that node's program does not "
          "register it (WEFT_ACTOR({}, ...)), or it is the head",
          type_name, pinned, type_name));
    }
    return pinned;
  }
  throw error(fmt::format(
      "cannot spawn {} on node '{}' (actor_options::node): no such live node in the cluster",
      type_name, pinned));
}

std::string node::place_elsewhere(const detail::cluster_spawn_request& request,
                                  const std::string& type_name, bool fits_here, bool stay_here,
                                  bool outlive_driver) {
  const resource_map& needs = request.options->resources;
  // Among the workers that register the type and have the resources: those with them free now
  // first (counting what this node placed there since their last heartbeat), else any (the
  // actor then waits there until a holder ends, and the log says so).
  if (auto free = view_.choose_for_actor(type_name, needs, id_, true)) return *free;
  if (stay_here) return "";
  const std::string shown = shown_as(request, type_name);
  if (auto waiting = view_.choose_for_actor(type_name, needs, id_, false)) {
    log(log_level::warn,
        "actor {} needs {}, which no node of the cluster has free now ({}); it waits on {} until "
        "they are released",
        shown, format_resources(needs), view_.describe_holders(needs), *waiting);
    return *waiting;
  }
  if (fits_here) {
    if (outlive_driver) {
      log(log_level::warn,
          "detached actor {} stays in this process ({}), so it ends when {} exits: no live worker "
          "registers actor type {}{}",
          shown, id_, id_, type_name,
          needs.empty() ? "" : " with resources " + format_resources(needs));
    }
    return "";
  }
  throw error(fmt::format(
      "actor {} needs resources {} that this node lacks, and no live worker of the cluster "
      "registers actor type {} with them ({})",
      shown, format_resources(needs), type_name, view_.describe_holders(needs)));
}

detail::actor_base* node::spawn_actor(detail::cluster_spawn_request& request) {
  const actor_options& options = *request.options;
  const detail::actor_type* type = detail::find_actor_type(*request.type);
  if (options.max_task_retries < -1) {
    throw error(fmt::format(
        "actor_options::max_task_retries = {} is out of range; use 0 for none, -1 for no limit",
        options.max_task_retries));
  }
  const bool can_travel = type != nullptr && request.encode && !options.restart_on;
  const std::string target = place_actor(request, type, can_travel);
  actor_status named;
  named.name = options.name;
  named.name_space = options.namespace_.empty() ? core_.settings().namespace_ : options.namespace_;
  named.type = type ? type->name : detail::type_name(*request.type);
  named.node = target.empty() ? node_id() : target;
  if (!options.name.empty() || !target.empty()) named.id = actors_.new_actor_id();
  if (!options.name.empty()) {
    if (detail::actor_base* existing = claim_name(request, named)) return existing;
  }
  if (!target.empty()) return spawn_elsewhere(request, *type, named, target);
  detail::actor_base* cell = nullptr;
  try {
    cell = request.spawn_here();
  } catch (...) {
    if (!options.name.empty()) forget_claim(named);
    throw;
  }
  if (!options.name.empty()) actors_.export_actor(cell, named, nullptr);
  return cell;
}

detail::actor_base* node::claim_name(const detail::cluster_spawn_request& request,
                                     const actor_status& named) {
  // An actor that is ending still holds its name at the head until its owner has told the
  // head; meanwhile a spawn of the name waits for it to be free (bounded), as in-process,
  // where the name of an ending actor is free at once.
  const std::string self = node_id();
  const auto patience = std::max(settings_.connect_timeout, settings_.heartbeat_timeout);
  const auto deadline = clock::now() + patience;
  while (clock::now() < deadline) {
    const wire::byte_buffer answer = ask_head(request_kind::claim_name, to_bytes(to_record(named)));
    const claim_reply reply = from_bytes<claim_reply>(std::span(answer).subspan(1), "claim reply");
    if (reply.claimed) return nullptr;
    const actor_status holder = from_record(reply.holder);
    if (request.get_existing && holder.type != named.type) {
      throw error(
          fmt::format("get_or_spawn: the actor named '{}' in namespace '{}' is a {}, not a {}",
                      holder.name, holder.name_space, holder.type, named.type));
    }
    // Alive (then it is the answer, or a duplicate), or ending: its owner frees the name at
    // the head soon; wait for that.
    detail::actor_base* alive =
        holder.node == self ? core_.actors().try_find(holder.name, holder.name_space, *request.type)
                            : actors_.attach_proxy(holder, *request.type);
    if (alive == nullptr) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    if (request.get_existing) return alive;
    alive->drop_handle();
    alive->release();
    throw error(fmt::format(
        "an actor named '{}' already exists in namespace '{}' (on node {}); look it up with "
        "get_actor, use get_or_spawn to share it, or kill it first",
        holder.name, holder.name_space, holder.node));
  }
  throw error(fmt::format(
      "{}: the actor named '{}' in namespace '{}' is ending, and its name was still taken at "
      "the head after {} ms (is its node overloaded?); try again later",
      request.get_existing ? "get_or_spawn" : "spawn", named.name, named.name_space,
      std::chrono::duration_cast<std::chrono::milliseconds>(patience).count()));
}

detail::actor_base* node::spawn_elsewhere(detail::cluster_spawn_request& request,
                                          const detail::actor_type& type, const actor_status& named,
                                          const std::string& target) {
  actor_options shown;
  shown.name = named.name;
  shown.namespace_ = named.name_space;
  actor_proxy* proxy = nullptr;
  try {
    std::shared_ptr<detail::wire_value> arguments = request.encode();
    proxy = make_proxy(core_, shown, *request.type, handle_, target, named.id);
    proxy->mark_spawned_here();
    actors_.add_proxy(named.id, proxy);
    spawn_order order = order_for(request, named, type);
    if (request.options->max_restarts > 0)
      keep_for_restart(*proxy, order, arguments, *request.options, target);
    send_spawn(target, std::move(order), std::move(arguments));
  } catch (const std::exception& e) {
    if (!named.name.empty()) forget_claim(named);
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
    via = link_to_member(target);
    if (!via) throw error(fmt::format("node {} is no longer in the cluster", target));
    // Its arguments (and what they left here) are kept until the owner answers, which it
    // does once it has gathered them.
    std::lock_guard lock(mutex_);
    spawns_.emplace(id, pending_spawn{order.id, target, left, arguments, order.resources});
    view_.reserve(target, order.resources, id);
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
    const bool ok = payload[0] == std::byte(response_status::ok) && payload.size() >= 9;
    view_.settle(
        id, ok,
        ok ? from_bytes<spawn_answer>(payload.subspan(1), "spawn answer").heartbeats_sent : 0);
  }
  release_arguments(spawn.left);
  if (payload[0] == std::byte(response_status::ok)) return true;
  failure f = from_bytes<failure>(payload.subspan(1), "spawn failure");
  if (actor_proxy* proxy = actors_.retained_proxy(spawn.actor)) {
    proxy->owner_ended(fmt::format("{} died: it could not be spawned on node {}: {}",
                                   proxy->describe(), f.node, f.message));
    proxy->release();
  }
  return true;
}

void node::serve_spawn(connection& c, std::uint64_t id, wire::frame&& request) {
  // Payload: kind byte, spawn order, encoded argument entries.
  auto owned = std::make_shared<wire::byte_buffer>(std::move(request.payload));
  std::span<const std::byte> body = std::span<const std::byte>(*owned).subspan(1);
  spawn_order order = take_front<spawn_order>(body, "spawn order");
  auto via = shared(c);
  std::shared_ptr<arrival> a = receive_arguments(owned, detail::split_entries(body), via);
  const std::string self = node_id();
  const actor_status named = named_by(order, self);
  auto refuse = [&](std::exception_ptr why) {
    failure f = describe_exception(why, self);
    const std::string message = fmt::format("actor {} ({}) could not be spawned on node {}: {}",
                                            order.id, order.type, self, f.message);
    log(log_level::warn, "{}", message);
    actors_.add_tombstone(order.id, message);
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
  const actor_options options = options_of(order);
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
  actors_.export_actor(cell, named, &c);  // the factory's handle is now the spawner's
  cell->release();                        // the export holds its own reference
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

}  // namespace weft::cluster
