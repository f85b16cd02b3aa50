// Re-creating an actor on another node after its node died (actor_options::max_restarts), on
// the node that created it: the stand-in stays, so every handle of this process keeps
// working. The restart starts when the owner is lost (its link closed, or the head's view
// drops it) and waits until the head has declared the node dead, so a node that is only cut
// off from here is never doubled by a second instance; calls in flight then are sent again
// (actor_options::max_task_retries) or fail with actor_died.

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <fmt/core.h>

#include <thread>

#include "actor_proxy.hpp"
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

void node::keep_for_restart(actor_proxy& proxy, const spawn_order& order,
                            std::shared_ptr<detail::wire_value> arguments,
                            const actor_options& options, const std::string& target) {
  kept_actor kept;
  kept.order = order;
  kept.arguments = std::move(arguments);
  kept.resources = options.resources;
  kept.restarts_left = options.max_restarts;
  kept.max_task_retries = options.max_task_retries;
  kept.node = target;
  kept.proxy = &proxy;
  restarts_.keep(std::move(kept));
}

void node::owner_lost(const std::string& node_id) {
  if (stopped_.load()) return;
  const auto deadline = clock::now() + 2 * settings_.heartbeat_timeout + std::chrono::seconds(1);
  std::vector<std::pair<std::string, actor_proxy*>> lost = restarts_.begin_for(node_id);
  // Named actors another process spawned: their stand-ins here follow them if their spawner
  // re-creates them.
  for (actor_proxy* proxy : actors_.named_proxies_of(node_id)) {
    if (restarts_.find(proxy->id()) || !proxy->begin_restart()) {
      proxy->release();
      continue;
    }
    kept_actor follower;
    follower.order.id = proxy->id();
    follower.order.name = proxy->name();
    follower.order.name_space = proxy->name_space();
    follower.node = node_id;
    follower.proxy = proxy;
    follower.follower = true;
    restarts_.keep(std::move(follower));
    lost.emplace_back(proxy->id(), proxy);
  }
  for (const auto& [id, proxy] : lost) {
    // Its call in flight waits for the restart (sent again or failed then), whichever of the
    // link closing or the view dropping the node comes first.
    const detail::actor_base* mailbox = proxy;
    for (sent_call& call :
         calls_.take_where([&](const sent_call& c) { return c.task->mailbox() == mailbox; })) {
      release_arguments(call.left);
      if (!restarts_.park(call)) fail_call(*call.task, lost_call(call, "its node was lost"));
    }
    asio::post(io_, [this, id = id, proxy = proxy, node_id, deadline] {
      await_owner_gone(id, *proxy, node_id, deadline);
    });
  }
}

void node::await_owner_gone(const std::string& id, actor_proxy& proxy, const std::string& old,
                            clock::time_point deadline) {
  if (!stopped_.load() && view_.listed_by_head(old) && clock::now() < deadline) {
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(50));
    timer->async_wait(
        [this, timer, id, p = &proxy, old, deadline](const boost::system::error_code& ec) {
          if (ec) {
            end_restart(id, *p, old, "the runtime shut down");
            return;
          }
          await_owner_gone(id, *p, old, deadline);
        });
    return;
  }
  const bool alive = view_.listed_by_head(old) && !stopped_.load();
  const bool started = in_background([this, id, p = &proxy, old, alive] {
    if (alive)
      resume_on_owner(id, *p, old);
    else
      restart_actor(id, *p, old);
  });
  if (!started) end_restart(id, proxy, old, "the runtime shut down");
}

void node::end_restart(const std::string& id, actor_proxy& proxy, const std::string& old,
                       const std::string& why) {
  const std::string message =
      fmt::format("{} died: node {} was lost, and it could not be restarted on another node: {}",
                  proxy.describe(), old, why);
  log(log_level::warn, "{}", message);
  for (sent_call& call : restarts_.drop(id))
    fail_call(*call.task, std::make_exception_ptr(weft::actor_died(message)));
  proxy.owner_ended(message);
  proxy.release();  // the restart job's reference
}

std::string node::claim_again(const spawn_order& order, const std::string& target) {
  const actor_status named = named_by(order, target);
  const wire::byte_buffer answer = ask_head(request_kind::claim_name, to_bytes(to_record(named)));
  const claim_reply reply = from_bytes<claim_reply>(std::span(answer).subspan(1), "claim reply");
  if (reply.claimed) return "";
  const actor_status holder = from_record(reply.holder);
  return fmt::format("its name '{}' in namespace '{}' is taken now, by actor {} on node {}",
                     order.name, order.name_space, holder.id, holder.node);
}

void node::restart_actor(const std::string& id, actor_proxy& proxy, const std::string& old) {
  std::optional<kept_actor> kept = restarts_.find(id);
  if (!kept) {
    end_restart(id, proxy, old, "the runtime shut down");
    return;
  }
  if (kept->follower) {
    follow_actor(id, proxy, old);
    return;
  }
  const spawn_order& order = kept->order;
  if (kept->restarts_left <= 0) {
    end_restart(id, proxy, old, "its actor_options::max_restarts are used up");
    return;
  }
  const std::string self = node_id();
  std::optional<std::string> target =
      view_.choose_for_actor(order.type, kept->resources, self, true);
  if (!target) target = view_.choose_for_actor(order.type, kept->resources, self, false);
  if (!target) {
    end_restart(
        id, proxy, old,
        fmt::format(
            "no other live worker registers actor type {}{}", order.type,
            kept->resources.empty() ? "" : " with resources " + format_resources(kept->resources)));
    return;
  }
  const int left = kept->restarts_left - 1;
  try {
    if (!order.name.empty()) {
      if (std::string taken = claim_again(order, *target); !taken.empty()) {
        end_restart(id, proxy, old, taken);
        return;
      }
    }
    spawn_order again = order;
    again.max_restarts = left;
    send_spawn(*target, std::move(again), kept->arguments);
  } catch (const std::exception& e) {
    end_restart(id, proxy, old, e.what());
    return;
  }
  // Calls go to the new owner from now on; those in flight at the death are sent again first
  // (the stand-in sends the next call only once the one in flight has ended).
  detail::task_base* held = proxy.finish_restart(*target);
  std::vector<sent_call> in_flight = restarts_.restarted(id, *target, left);
  actors_restarted_.fetch_add(1, std::memory_order_relaxed);
  log(log_level::info, "{} restarted on node {} after node {} was lost ({} restart{} left)",
      proxy.describe(), *target, old, left, left == 1 ? "" : "s");
  for (sent_call& call : in_flight)
    retry_call(proxy, std::move(call), kept->max_task_retries, old, *target);
  if (held) proxy.resume(*held);
  proxy.release();  // the restart job's reference
}

void node::follow_actor(const std::string& id, actor_proxy& proxy, const std::string& old) {
  const auto patience = std::max(settings_.connect_timeout, settings_.heartbeat_timeout);
  const auto deadline = clock::now() + patience;
  actor_status asked;
  asked.name = proxy.name();
  asked.name_space = proxy.name_space();
  std::string why;
  for (;;) {
    try {
      const wire::byte_buffer answer =
          ask_head(request_kind::find_name, to_bytes(to_record(asked)));
      const actor_status where =
          from_record(from_bytes<actor_record>(std::span(answer).subspan(1), "named actor"));
      if (!where.id.empty() && where.id != id) {
        end_restart(id, proxy, old,
                    fmt::format("its name belongs to another actor now ({} on node {})", where.id,
                                where.node));
        return;
      }
      if (where.id == id && where.node != old) {
        // Counted as a holder by the new owner before calls go there, as for a lookup.
        const wire::byte_buffer attached =
            ask_node(where.node, request_kind::attach_actor, to_bytes(actor_id_message{id}));
        if (attached[0] == std::byte(response_status::ok)) {
          detail::task_base* held = proxy.finish_restart(where.node);
          std::vector<sent_call> in_flight = restarts_.drop(id);
          log(log_level::info,
              "{} lives on node {} now, restarted by its spawner after node {} "
              "was lost; the handles here follow it",
              proxy.describe(), where.node, old);
          for (sent_call& call : in_flight)
            retry_call(proxy, std::move(call), std::nullopt, old, where.node);
          if (held) proxy.resume(*held);
          proxy.release();
          return;
        }
        why = fmt::format("node {} says it ended", where.node);
      } else {
        why = where.id.empty() ? "no live actor has its name" : "the head still lists it there";
      }
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (clock::now() >= deadline) {
      end_restart(
          id, proxy, old,
          fmt::format("its spawner did not re-create it within {} ms ({})",
                      std::chrono::duration_cast<std::chrono::milliseconds>(patience).count(),
                      why));
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void node::resume_on_owner(const std::string& id, actor_proxy& proxy, const std::string& old) {
  std::optional<kept_actor> kept = restarts_.find(id);
  if (!kept) {
    end_restart(id, proxy, old, "the runtime shut down");
    return;
  }
  log(log_level::warn,
      "{}: the link to node {} was lost but the head still lists the node after {} ms; the "
      "actor is not restarted",
      proxy.describe(), old, (2 * settings_.heartbeat_timeout).count() + 1000);
  detail::task_base* held = proxy.cancel_restart();
  for (sent_call& call : restarts_.restarted(id, old, kept->restarts_left))
    retry_call(proxy, std::move(call), kept->max_task_retries, old, old);
  if (held) proxy.resume(*held);
  proxy.release();
}

void node::retry_call(actor_proxy& proxy, sent_call call, std::optional<int> max_task_retries,
                      const std::string& old, const std::string& now) {
  detail::task_base& task = *call.task;
  lost_attempts losses = std::move(call.losses);
  ++losses.count;
  const bool allowed =
      max_task_retries && (*max_task_retries < 0 || losses.count <= *max_task_retries);
  if (allowed) {
    if (std::exception_ptr e = forward_call(proxy, task, std::move(losses))) fail_call(task, e);
    return;
  }
  const std::string what =
      old == now ? fmt::format(
                       "the link to node {} was lost while call '{}' ran there, and the "
                       "node still lives",
                       old, task.remote()->name)
                 : fmt::format(
                       "{} died with node {} while call '{}' ran there; it was "
                       "restarted on node {}",
                       proxy.describe(), old, task.remote()->name, now);
  const std::string policy =
      !max_task_retries
          ? std::string("only the process that spawned it sends calls again: at most once")
          : fmt::format("actor_options::max_task_retries = {}{}", *max_task_retries,
                        *max_task_retries == 0 ? ": at most once" : ", used up");
  fail_call(task, std::make_exception_ptr(weft::actor_died(
                      fmt::format("{}, and the call was not sent again ({})", what, policy))));
}

}  // namespace weft::cluster
