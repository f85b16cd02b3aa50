// The frames every role receives: opened connections, requests handed to the service of their
// kind (if this node's role serves it), responses, heartbeats and the views that follow them.

#include <boost/asio/post.hpp>

#include <fmt/core.h>

#include "core/log.hpp"
#include "core/runtime_core.hpp"
#include "node.hpp"
#include "weft/errors.hpp"

namespace weft::cluster {
namespace {
using detail::log;
using detail::log_level;

// Whether requests of kind `kind` go to the head's service.
bool head_request(request_kind kind) {
  switch (kind) {
    case request_kind::join:
    case request_kind::status:
    case request_kind::stop_cluster:
    case request_kind::claim_name:
    case request_kind::find_name:
    case request_kind::forget_name:
      return true;
    default:
      return false;
  }
}

// Whether a node of role `role` serves requests of kind `kind`: the head's directory and
// membership only on the head, tasks only on workers, actors on workers and drivers (a
// driver's actors can be called from elsewhere), objects, refs and handles everywhere.
bool serves(node_role role, request_kind kind) {
  if (head_request(kind)) return role == node_role::head;
  switch (kind) {
    case request_kind::run_task:
      return role == node_role::worker;
    case request_kind::spawn_actor:
    case request_kind::call_actor:
      return role != node_role::head;
    default:
      return true;
  }
}

}  // namespace

void node::on_open(connection& c) {
  bool is_head_link = false;
  {
    std::lock_guard lock(mutex_);
    is_head_link = head_.get() == &c;
  }
  if (!is_head_link) return;
  try {
    send_join(c);
  } catch (const std::exception& e) {
    if (joined_) {
      joined_->set_exception(std::current_exception());
      joined_.reset();
    }
    c.close(fmt::format("cannot join: {}", e.what()));
  }
}

void node::on_frame(connection& c, wire::frame&& f) {
  switch (f.header.type) {
    case wire::frame_type::request:
      on_request(c, std::move(f));
      return;
    case wire::frame_type::response:
      on_response(c, std::move(f));
      return;
    case wire::frame_type::heartbeat:
      on_heartbeat(c, std::move(f));
      return;
    default:
      throw protocol_error(fmt::format("a {} frame is not expected after the handshake",
                                       wire::type_name(static_cast<std::uint16_t>(f.header.type))));
  }
}

void node::on_request(connection& c, wire::frame&& f) {
  if (f.payload.empty()) throw protocol_error("an empty request");
  const auto kind = static_cast<request_kind>(f.payload[0]);
  const std::uint64_t id = f.header.request_id;
  std::span<const std::byte> body(f.payload.data() + 1, f.payload.size() - 1);
  if (!serves(settings_.role, kind)) {
    throw protocol_error(fmt::format("request kind {} is not served by a {}",
                                     static_cast<unsigned>(kind), role_name(settings_.role)));
  }
  if (head_request(kind)) {
    on_head_request(c, id, kind, body);
    return;
  }
  switch (kind) {
    case request_kind::run_task:
      serve_task(c, id, std::move(f));
      return;
    case request_kind::spawn_actor:
      serve_spawn(c, id, std::move(f));
      return;
    case request_kind::call_actor:
      serve_actor_call(c, id, std::move(f));
      return;
    case request_kind::pull_object:
      objects_.serve_pull(c, id, body);
      return;
    case request_kind::release_object:
      objects_.on_release(body);
      return;
    case request_kind::object_dropped:
      objects_.on_object_dropped(body);
      return;
    case request_kind::ref_value:
      refs_.on_value(c, body);
      return;
    case request_kind::grant_actor:
    case request_kind::attach_granted:
    case request_kind::attach_actor:
    case request_kind::release_actor:
    case request_kind::kill_actor:
    case request_kind::actor_ended:
      on_actor_request(c, id, kind, body);
      return;
    case request_kind::stop_node:
      on_stop_node(c);
      return;
    case request_kind::join:  // the head's kinds went to on_head_request above
    case request_kind::status:
    case request_kind::stop_cluster:
    case request_kind::claim_name:
    case request_kind::find_name:
    case request_kind::forget_name:
      break;
  }
  throw protocol_error(fmt::format("request kind {} is not served by a {}",
                                   static_cast<unsigned>(kind), role_name(settings_.role)));
}

void node::on_head_request(connection& c, std::uint64_t id, request_kind kind,
                           std::span<const std::byte> body) {
  switch (kind) {
    case request_kind::join:
      head_service_->on_join(c, id, body);
      return;
    case request_kind::status:
      head_service_->on_status(c, id);
      return;
    case request_kind::stop_cluster:
      head_service_->on_stop(c, id);
      request_stop(fmt::format("stopped by {}", c.describe()), false);
      return;
    case request_kind::forget_name:
      head_service_->forget_name(body);
      return;
    default:  // claim_name, find_name
      c.send(wire::frame_type::response, id, head_service_->answer_name(kind, body));
  }
}

void node::on_actor_request(connection& c, std::uint64_t id, request_kind kind,
                            std::span<const std::byte> body) {
  switch (kind) {
    case request_kind::grant_actor:
      actors_.on_grant_actor(body);
      return;
    case request_kind::attach_granted:
      actors_.on_attach_granted(c, body);
      return;
    case request_kind::attach_actor:
      actors_.on_attach_actor(c, id, body);
      return;
    case request_kind::release_actor:
      actors_.on_release_actor(c, body);
      return;
    case request_kind::kill_actor:
      actors_.on_kill_actor(c, body);
      return;
    default:  // actor_ended
      actors_.on_actor_ended(body);
  }
}

void node::on_stop_node(connection& c) {
  bool from_head = false;
  {
    std::lock_guard lock(mutex_);
    from_head = head_.get() == &c;
  }
  if (!from_head) {
    throw protocol_error(
        fmt::format("a stop_node request came from {}, which is not the head", c.describe()));
  }
  request_stop("the head stopped the cluster", false);
}

void node::on_response(connection& c, wire::frame&& f) {
  const std::uint64_t id = f.header.request_id;
  if (!joined_ && id == join_request_ && rejoining()) {
    rejoined(c, f.payload);
    return;
  }
  if (joined_ && id == join_request_) {
    if (f.payload.empty() || f.payload[0] != std::byte(response_status::ok)) {
      std::string why = "the head refused the join";
      if (f.payload.size() > 1) {
        failure fail = from_bytes<failure>(std::span(f.payload).subspan(1), "join failure");
        why = fail.message;
      }
      joined_->set_exception(std::make_exception_ptr(error(why)));
      joined_.reset();
      c.close(why);
      return;
    }
    join_reply reply = from_bytes<join_reply>(std::span(f.payload).subspan(1), "join reply");
    {
      std::lock_guard lock(mutex_);
      id_ = reply.id;
    }
    last_view_at_ = clock::now();
    apply_view(from_record(reply.view));
    joined_->set_value();
    joined_.reset();
    return;
  }
  if (f.payload.empty()) throw protocol_error("an empty response");
  if (objects_.complete_pull(c, id, f.payload, !f.placed.empty())) return;
  if (complete_ask(id, f)) return;
  if (complete_spawn(id, f.payload)) return;
  complete_call(id, f.payload);
}

void node::on_heartbeat(connection& c, wire::frame&& f) {
  if (settings_.role == node_role::head) {
    head_service_->on_heartbeat(c, f.payload);
    return;
  }
  last_view_at_ = clock::now();
  apply_view(from_record(from_bytes<cluster_view>(f.payload, "cluster view")));
}

}  // namespace weft::cluster
