// The node's side of actors across nodes (DESIGN.md section 5), once spawned (actor_spawn.cpp):
// questions asked of the head (names) and of other nodes, lookups, and calls that go straight
// to the owning node through a local stand-in (actor_proxy), in order. What the node knows of
// actors (exports, stand-ins, grants) is the actor service's (actor_service.hpp).

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

std::string request_with(request_kind kind, const std::string& body) {
  std::string out(1, static_cast<char>(kind));
  out += body;
  return out;
}

}  // namespace

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
      if (!stopped_.load() && head_ && head_->is_open() && !head_absent_) {
        head = head_;
        asks_.emplace(id, promise);
      }
    }
    if (!head) {
      if (stopped_.load()) throw error("cannot ask the head: this node has stopped");
      throw error(fmt::format("cannot ask the head: {}", head_unreachable()));
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
  return actors_.attach_proxy(where, type);
}

std::exception_ptr node::forward_call(actor_proxy& proxy, detail::task_base& call,
                                      lost_attempts losses) noexcept {
  try {
    if (stopped_.load()) {
      return std::make_exception_ptr(cancelled_error(
          fmt::format("call to {} was cancelled: the runtime shut down", proxy.describe())));
    }
    const std::string owner = proxy.owner();
    std::shared_ptr<connection> via = link_to_member(owner);
    if (!via) {
      // Its node is gone, and the io thread may not have said so yet: an actor that can be
      // restarted (or followed) holds the call until it lives again.
      owner_lost(owner);
      if (proxy.hold_if_restarting(call)) return nullptr;
      return std::make_exception_ptr(weft::actor_died(
          fmt::format("{} died: node {} left the cluster", proxy.describe(), owner)));
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
        send_call(call, owner, std::move(via), std::move(prefix), unsent, std::move(losses));
    if (failed && unsent && !stopped_.load()) {
      return std::make_exception_ptr(weft::actor_died(
          fmt::format("{} died: the connection to node {} closed", proxy.describe(), owner)));
    }
    return failed;
  } catch (...) {
    return std::current_exception();
  }
}

void node::kill_remote_actor(const std::string& owner, const std::string& id) noexcept {
  actors_.tell(owner, request_kind::kill_actor, to_bytes(actor_id_message{id}));
}

void node::release_remote_actor(const std::string& owner, const std::string& id) noexcept {
  if (stopped_.load()) return;  // the owner lets go when the connection closes
  actors_.tell(owner, request_kind::release_actor, to_bytes(actor_id_message{id}));
}

void node::forget_proxy(const std::string& id, const actor_proxy* proxy) noexcept {
  actors_.forget_proxy(id, proxy);
  restarts_.forget(id, proxy);
}

void node::actor_died(detail::actor_base& actor) noexcept {
  actors_.actor_died(actor);
}

wire::byte_buffer node::ask_node(const std::string& node_id, request_kind kind,
                                 const std::string& body) {
  auto promise = std::make_shared<std::promise<wire::byte_buffer>>();
  std::future<wire::byte_buffer> answer = promise->get_future();
  const std::uint64_t id = next_request_.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<connection> via = link_to_member(node_id);
  {
    std::lock_guard lock(mutex_);
    if (stopped_.load())
      throw error(fmt::format("cannot ask node {}: the runtime shut down", node_id));
    if (!via) throw error(fmt::format("cannot ask node {}: it is not in the cluster", node_id));
    asks_.emplace(id, promise);
  }
  std::string request(1, static_cast<char>(kind));
  request += body;
  via->send(wire::frame_type::request, id, std::move(request));
  const auto limit = std::max(settings_.connect_timeout, settings_.heartbeat_timeout);
  if (answer.wait_for(limit) != std::future_status::ready) {
    std::lock_guard lock(mutex_);
    asks_.erase(id);
    throw error(fmt::format("node {} did not answer within {} ms", node_id,
                            std::chrono::duration_cast<std::chrono::milliseconds>(limit).count()));
  }
  wire::byte_buffer reply = answer.get();
  if (reply.empty()) throw protocol_error(fmt::format("an empty answer from node {}", node_id));
  return reply;
}

}  // namespace weft::cluster
