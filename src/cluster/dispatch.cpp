// A caller's side of a node: deciding that a task leaves, sending it to the chosen worker, and
// completing its ref from the answer (or failing it when the worker goes away).

#include <boost/asio/post.hpp>

#include <fmt/core.h>

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

}  // namespace

std::exception_ptr node::lost_call(const sent_call& p, const std::string& why) {
  if (p.task->mailbox() != nullptr) {
    return std::make_exception_ptr(
        weft::actor_died(fmt::format("{} died: {} while call '{}' ran there",
                                     p.task->mailbox()->describe(), why, p.task->remote()->name)));
  }
  return std::make_exception_ptr(
      object_lost(fmt::format("the result of task '{}' is lost: {} while the task ran there",
                              p.task->remote()->name, why)));
}

std::size_t node::local_threshold() const {
  if (settings_.offload_threshold >= 0)
    return static_cast<std::size_t>(settings_.offload_threshold);
  return 4 * static_cast<std::size_t>(core_.threads());
}

bool node::route(detail::task_base& task) noexcept {
  if (stopped_.load(std::memory_order_acquire)) return false;
  const bool forced = task.needs_remote();
  const resource_map& needs = task.resources();
  const std::string& function = task.remote()->name;
  if (!forced) {
    const std::uint64_t live = core_.live_tasks();
    const std::uint64_t sent = view_.in_flight_total();
    const std::uint64_t local = live > sent ? live - sent : 0;
    if (local <= local_threshold()) return false;
  }
  std::optional<placement_target> target = view_.choose_for_task(function, needs);
  std::string chosen;
  std::shared_ptr<connection> via;
  if (target) {
    try {
      std::lock_guard lock(mutex_);
      via = peer_connection(target->id, target->address);
      chosen = std::move(target->id);
    } catch (const std::exception& e) {
      log(log_level::warn, "cannot reach node {}: {}", target->id, e.what());
    }
  }
  if (!via && !forced) return false;
  if (!task.hand_to_remote()) return false;  // cancelled meanwhile: the core finishes it
  if (!via) {
    fail_call(task, std::make_exception_ptr(error(fmt::format(
                        "task '{}' needs resources {} that this node lacks, and no live worker "
                        "of the cluster registers '{}' with them",
                        task.name(), format_resources(needs), function))));
    return true;
  }
  bool unsent = false;
  if (std::exception_ptr e = send_task(task, chosen, std::move(via), {}, unsent)) {
    if (unsent && !forced) {
      // The connection to that worker closed before anything left: run it here instead.
      task.take_back();
      return false;
    }
    fail_call(task, std::move(e));
  }
  return true;
}

std::exception_ptr node::send_task(detail::task_base& task, const std::string& chosen,
                                   std::shared_ptr<connection> via, lost_attempts losses,
                                   bool& unsent) {
  task_header header;
  header.function = task.remote()->name;
  header.name = task.extras() ? task.extras()->name : std::string();
  header.retries = task.extras() ? task.extras()->retries_left : 0;
  header.resources = task.resources();
  std::string prefix(1, static_cast<char>(request_kind::run_task));
  try {
    wire::append(prefix, header);
  } catch (...) {
    return std::current_exception();
  }
  return send_call(task, chosen, std::move(via), std::move(prefix), unsent, std::move(losses));
}

void node::resend_lost(sent_call call, const std::string& why) {
  detail::task_base& task = *call.task;
  lost_attempts losses = std::move(call.losses);
  ++losses.count;
  if (!losses.history.empty()) losses.history += "; ";
  losses.history += fmt::format("{}: {}", call.node, why);
  const int limit = task.extras() ? task.extras()->node_retries : default_node_retries;
  const std::string& function = task.remote()->name;
  const std::string who = task.extras() && !task.extras()->name.empty()
                              ? fmt::format("task '{}' ({})", task.name(), function)
                              : fmt::format("task '{}'", function);
  auto give_up = [&](const std::string& because) {
    fail_call(task,
              std::make_exception_ptr(node_died(fmt::format(
                  "{} is lost: it was sent {} time{}, and each node was lost before it "
                  "answered ({}); {}",
                  who, losses.count, losses.count == 1 ? "" : "s", losses.history, because))));
  };
  if (stopped_.load()) {
    fail_call(task, std::make_exception_ptr(cancelled_error(fmt::format(
                        "task '{}' was cancelled: the runtime shut down while it ran on node {}",
                        function, call.node))));
    return;
  }
  if (losses.count > limit) {
    give_up(fmt::format("task_options::node_retries = {} allows no more sends", limit));
    return;
  }
  std::optional<placement_target> target = view_.choose_for_task(function, task.resources());
  if (target) {
    std::shared_ptr<connection> via;
    try {
      std::lock_guard lock(mutex_);
      via = peer_connection(target->id, target->address);
    } catch (const std::exception& e) {
      log(log_level::warn, "cannot reach node {}: {}", target->id, e.what());
    }
    if (via) {
      log(log_level::info, "{} sent again, to node {}: node {} was lost ({}); send {} of {}", who,
          target->id, call.node, why, losses.count + 1, limit + 1);
      bool unsent = false;
      std::exception_ptr e = send_task(task, target->id, std::move(via), losses, unsent);
      if (!e) return;
      if (!unsent) {
        fail_call(task, std::move(e));
        return;
      }
    }
  }
  if (!task.needs_remote()) {
    log(log_level::info, "{} runs here: node {} was lost ({}) and no other node can take it", who,
        call.node, why);
    task.take_back();
    core_.run_here(task);
    return;
  }
  give_up(fmt::format("no other live node registers '{}' with resources {}", function,
                      format_resources(task.resources())));
}

std::exception_ptr node::send_call(detail::task_base& task, const std::string& chosen,
                                   std::shared_ptr<connection> via, std::string prefix,
                                   bool& unsent, lost_attempts losses) {
  const std::uint64_t id = next_request_.fetch_add(1, std::memory_order_relaxed);
  outgoing_arguments left;
  try {
    std::shared_ptr<detail::wire_value> body =
        prepare_arguments(task.encode_call(), chosen, id, left);
    sent_call call{&task, chosen, via.get(), left, {}, std::move(losses), {}, nullptr};
    if (!task.mailbox()) {
      call.resources = task.resources();
      if (task.remote()->result_may_be_held) {
        call.request_prefix = prefix;  // kept until the answer: a large result's lineage
        call.sent = body;
      }
    }
    if (!calls_.add(id, std::move(call), stopped_, *via)) {
      unsent = true;
      throw cancelled_error(fmt::format("task '{}' was not sent: the connection to node {} closed",
                                        task.name(), chosen));
    }
    try {
      via->send(wire::frame_type::request, id, std::move(prefix), std::move(body));
      refs_.activate(left.exports, via);  // their values follow the request on its connection
    } catch (...) {
      if (!calls_.take(id)) return nullptr;  // already failed by a closing connection
      throw;
    }
  } catch (...) {
    release_arguments(left);
    return std::current_exception();
  }
  return nullptr;
}

std::shared_ptr<connection> node::peer_connection(const std::string& id,
                                                  const std::string& address) {
  auto found = peers_.find(id);
  if (found != peers_.end()) return found->second;
  // The view may have dropped it since it was chosen: dial only a node still in it.
  if (!view_.address_of(id)) throw error(fmt::format("node {} is no longer in the cluster", id));
  const endpoint_text at = parse_endpoint(address, "a worker's address");
  auto c = connection::dial(io_, *this, identity(id_), at.host, at.port);  // mutex_ held
  peers_.emplace(id, c);
  return c;
}

void node::finish_task(detail::task_base& task) {
  task.finish_sent();
  hand_back(task);
}

void node::hand_back(detail::task_base& task) {
  if (task.mailbox() != nullptr)
    task.mailbox()->finish_forwarded(task);  // a call a stand-in forwarded
  else
    core_.finish(task);
}

void node::fail_call(detail::task_base& task, std::exception_ptr why) {
  task.fail_sent(std::move(why));
  hand_back(task);
}

void node::complete_call(std::uint64_t id, std::span<const std::byte> payload) {
  std::optional<sent_call> taken = calls_.take(id);
  if (!taken) return;  // failed already (its node was declared dead)
  sent_call& call = *taken;
  release_arguments(call.left);
  detail::task_base& task = *call.task;
  const auto status = static_cast<response_status>(payload[0]);
  std::span<const std::byte> body = payload.subspan(1);
  if (status == response_status::failed) {
    if (std::exception_ptr own = task.dependency_error()) {
      // A ref argument the receiver resolved from here failed: the call fails with that
      // ref's own error, as it would have in-process.
      fail_call(task, std::move(own));
      return;
    }
  }
  try {
    if (status == response_status::ok) {
      task.complete_remote(body);
    } else if (status == response_status::held) {
      const held_result held = from_bytes<held_result>(body, "held result");
      std::string why_not = "it is the result of an actor call, which depends on the actor's state";
      std::shared_ptr<const lineage_recipe> recipe;
      if (!task.mailbox()) recipe = lineage_.keep(call, why_not);
      task.complete_held(objects_.remote_result(call.node, held.object, held.size,
                                                std::move(recipe), std::move(why_not)));
    } else {
      failure f = from_bytes<failure>(body, "task failure");
      if (task.mailbox() != nullptr && f.type == actor_died_type) {
        // The actor itself is gone (killed, failed, never built): the caller sees actor_died,
        // as it would in-process.
        fail_call(task, std::make_exception_ptr(weft::actor_died(std::move(f.message))));
        return;
      }
      fail_call(task, std::make_exception_ptr(task_error(task.remote()->name, std::move(f.type),
                                                         std::move(f.message), std::move(f.node))));
      return;
    }
  } catch (...) {
    fail_call(task, std::current_exception());
    return;
  }
  finish_task(task);
}

void node::fail_calls_where(const std::function<bool(const sent_call&)>& match,
                            const std::function<std::exception_ptr(const sent_call&)>& why) {
  for (sent_call& call : calls_.take_where(match)) {
    release_arguments(call.left);
    fail_call(*call.task, why(call));
  }
}

void node::lose_calls_where(const std::function<bool(const sent_call&)>& match,
                            const std::function<std::string(const sent_call&)>& why) {
  for (sent_call& call : calls_.take_where(match)) {
    release_arguments(call.left);
    const std::string reason = why(call);
    if (call.task->mailbox() != nullptr) {
      if (restarts_.park(call)) continue;  // sent again, or failed, once its actor restarts
      fail_call(*call.task, lost_call(call, reason));  // an actor call stays with its actor
    } else {
      resend_lost(std::move(call), reason);
    }
  }
}

void node::apply_view(cluster_status view) {
  const std::vector<std::string> gone = view_.apply(std::move(view));
  std::vector<std::shared_ptr<connection>> to_close;
  {
    std::lock_guard lock(mutex_);
    for (const std::string& id : gone) {
      auto found = peers_.find(id);
      if (found != peers_.end()) {
        to_close.push_back(found->second);
        peers_.erase(found);
      }
    }
  }
  for (const std::string& id : gone) {
    log(log_level::info, "node {} left the cluster", id);
    const std::string why =
        fmt::format("node {} left the cluster (the head declared it dead or it disconnected)", id);
    owner_lost(id);
    lose_calls_where([&](const sent_call& p) { return p.node == id; },
                     [&](const sent_call&) { return why; });
    actors_.proxies_lost(id, why);
    objects_.fail_pulls_where([&](const object_service::pull_job& j) { return j.owner == id; },
                              "its owner left the cluster");
    objects_.drop_copies_where(
        [&](const std::string& owner, std::uint64_t, bool) { return owner == id; });
    refs_.drop_exports_for(id);
    actors_.drop_grants_for(id);
    view_.forget_load(id);
  }
  for (auto& c : to_close)
    c->close("the head reported this node gone");
}

}  // namespace weft::cluster
