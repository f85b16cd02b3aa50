// A worker or driver whose link to the head closed (DESIGN.md section 5, "Failure"). If the
// node itself was cut off or frozen for longer than the heartbeat timeout, the head has
// declared it dead and replaced its work: it is fenced and stops. Otherwise the head went
// away: the node keeps running what it has (its links to other nodes stay), lookups that need
// the head fail at once saying so, and it dials the head's address again every interval. When
// a head answers there, the node joins it under its own id, waits one heartbeat timeout
// before believing that a node missing from the new head's view is gone (the others are
// joining again too), and registers its named actors again.
//
// Why the nodes' reports and not a state file written by the head: the directory's truth is
// on the nodes (an actor lives where it lives), a head started on another machine with the
// same address needs nothing copied, and a stale file could only point at dead actors. What
// the head alone knew (ids it declared dead) is lost with it; a node that was declared dead
// by the old head and wakes after the new one started is caught by its own clock (frozen
// longer than the timeout) instead. Also lost with it: the id counters. A brand-new node that
// joins the new head before an old node of its role has come back may be given that old
// node's id; the old node is then refused and stops, as if it had died (its work is sent
// elsewhere), and nothing else is lost. Old nodes dial again within one interval, so this
// needs a new node started in that window.

#include <fmt/core.h>

#include <algorithm>

#include "core/log.hpp"
#include "node.hpp"
#include "weft/errors.hpp"

namespace weft::cluster {
namespace {

using detail::log;
using detail::log_level;

long long millis(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

std::chrono::milliseconds node::head_retry_interval() const {
  return std::clamp(settings_.heartbeat_interval, std::chrono::milliseconds(100),
                    std::chrono::milliseconds(1000));
}

void node::head_link_closed(const std::string& reason) {
  const auto now = clock::now();
  {
    std::lock_guard lock(mutex_);
    if (id_.empty()) return;   // not joined yet: join_head decides
    if (head_absent_) return;  // an attempt to reach it again failed: tick tries again
  }
  const auto silent = now - last_view_at_;
  const bool frozen =
      (last_tick_at_ != clock::time_point{} && now - last_tick_at_ > settings_.heartbeat_timeout) ||
      now < frozen_until_;
  const bool told = reason.find("was declared dead") != std::string::npos;  // the head's goodbye
  if (silent > settings_.heartbeat_timeout || frozen || told) {
    log(log_level::error,
        "lost the connection to the head: {}; this node was cut off or frozen for longer than "
        "the heartbeat timeout ({} ms), so the head has declared it dead and its work was "
        "given to others: it stops (start it again to join as a new node)",
        reason, settings_.heartbeat_timeout.count());
    {
      // Never dialed again; what needs the head says why (a driver goes on running locally).
      std::lock_guard lock(mutex_);
      head_absent_ = head_absence{
          now, reason,
          fmt::format("the head at {} declared this node dead (it was cut off or frozen for "
                      "longer than the heartbeat timeout, {} ms) and gave its work to others; "
                      "start it again to join as a new node",
                      settings_.address, settings_.heartbeat_timeout.count())};
    }
    request_stop(fmt::format("lost the connection to the head ({})", reason), true);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    head_absent_ = head_absence{now, reason, {}};
  }
  view_.drop("head");
  next_head_try_ = now;
  if (settings_.role == node_role::worker) {
    log(log_level::warn,
        "lost the connection to the head at {}: {}; running what this node has and trying "
        "again every {} ms for up to {} ms (cluster.head_reconnect_timeout)",
        settings_.address, reason, head_retry_interval().count(),
        settings_.head_reconnect_timeout.count());
  } else {
    log(log_level::warn,
        "lost the connection to the head at {}: {}; running what this node has and trying "
        "again every {} ms",
        settings_.address, reason, head_retry_interval().count());
  }
}

void node::try_head_again() {
  const auto now = clock::now();
  clock::time_point since;
  {
    std::lock_guard lock(mutex_);
    if (!head_absent_ || !head_absent_->refused.empty() || head_) return;
    since = head_absent_->since;
  }
  if (settings_.role == node_role::worker && now - since > settings_.head_reconnect_timeout) {
    const std::string why = fmt::format(
        "the head at {} did not come back within {} ms (cluster.head_reconnect_timeout)",
        settings_.address, settings_.head_reconnect_timeout.count());
    log(log_level::error, "{}: this worker stops", why);
    request_stop(why, true);
    return;
  }
  if (now < next_head_try_) return;
  next_head_try_ = now + head_retry_interval();
  const endpoint_text head = parse_endpoint(settings_.address, "WEFT_ADDRESS");
  auto c = connection::dial(io_, *this, identity(node_id()), head.host, head.port);
  std::lock_guard lock(mutex_);
  head_ = std::move(c);
}

bool node::rejoining() const {
  std::lock_guard lock(mutex_);
  return head_absent_.has_value();
}

void node::rejoined(connection& c, std::span<const std::byte> payload) {
  const auto now = clock::now();
  if (payload.empty() || payload[0] != std::byte(response_status::ok)) {
    std::string why = "the head refused this node's return";
    if (payload.size() > 1) why = from_bytes<failure>(payload.subspan(1), "join failure").message;
    log(log_level::error, "the head at {} refused this node's return: {}", settings_.address, why);
    {
      std::lock_guard lock(mutex_);
      if (head_absent_) {
        head_absent_->refused =
            fmt::format("the head at {} refused this node's return: {}", settings_.address, why);
      }
    }
    c.close(why);
    if (settings_.role == node_role::worker) {
      request_stop(fmt::format("the head refused this node's return ({})", why), true);
    }
    return;
  }
  const join_reply reply = from_bytes<join_reply>(payload.subspan(1), "join reply");
  clock::duration away{};
  {
    std::lock_guard lock(mutex_);
    if (reply.id != id_) {
      throw protocol_error(fmt::format("the head took node {} back as '{}'", id_, reply.id));
    }
    away = now - head_absent_->since;
    head_absent_.reset();
  }
  last_view_at_ = now;
  view_.head_returned(now + settings_.heartbeat_timeout);
  apply_view(from_record(reply.view));
  log(log_level::info, "joined the head at {} again as {}, after {} ms without it",
      settings_.address, reply.id, millis(away));
  // A background job: it asks the head, which the io thread must not wait for. If the runtime
  // is shutting down it does not start, and nothing is left to register.
  in_background([this] { register_names_again(); });
}

void node::register_names_again() {
  for (const actor_status& named : actors_.named_exports(node_id())) {
    try {
      const wire::byte_buffer answer =
          ask_head(request_kind::claim_name, to_bytes(to_record(named)));
      const claim_reply reply =
          from_bytes<claim_reply>(std::span(answer).subspan(1), "claim reply");
      if (reply.claimed) continue;
      const actor_status holder = from_record(reply.holder);
      log(log_level::warn,
          "actor {} keeps running without its name '{}' (namespace '{}'): while the head was "
          "away, actor {} on node {} took it",
          named.id, named.name, named.name_space, holder.id, holder.node);
    } catch (const std::exception& e) {
      log(log_level::warn, "could not register actor '{}' at the head again: {}", named.name,
          e.what());
    }
  }
}

std::string node::head_unreachable() const {
  std::lock_guard lock(mutex_);
  if (!head_absent_) return "this node is not connected to the head";
  if (!head_absent_->refused.empty()) return head_absent_->refused;
  return fmt::format(
      "the head at {} is unreachable: its connection closed {} ms ago ({}); this node is "
      "trying to reach it again, and lookups by name fail until it is back",
      settings_.address, millis(clock::now() - head_absent_->since), head_absent_->reason);
}

}  // namespace weft::cluster
