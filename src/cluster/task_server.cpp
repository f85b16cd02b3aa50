// A worker's side of a node: running tasks other nodes send, and answering with the result or
// the exception (its type name and message).

#include <fmt/core.h>

#include <cstring>
#include <typeinfo>

#include "arguments.hpp"
#include "core/live_actors.hpp"
#include "core/log.hpp"
#include "core/runtime_core.hpp"
#include "node.hpp"
#include "weft/errors.hpp"
#include "weft/options.hpp"
#include "weft/ref.hpp"

namespace weft::cluster {
namespace {

using detail::log;
using detail::log_level;

}  // namespace

// Sends a task's outcome back once its ref is ready; deletes itself after.
struct reply_link final : detail::continuation {
  node* owner = nullptr;
  std::shared_ptr<connection> via;
  std::uint64_t request = 0;
  result_ref result;

  void on_ready() noexcept override {
    owner->answer_task(*this);
    delete this;
  }
};

void node::answer_task(reply_link& link) noexcept {
  tasks_served_.fetch_add(1, std::memory_order_relaxed);
  auto* state = detail::ref_access::state_of(link.result);
  const std::string self = node_id();
  try {
    if (state->failed()) {
      link.via->send(wire::frame_type::response, link.request,
                     failure_prefix(describe_exception(state->error(), self)));
      return;
    }
    std::shared_ptr<detail::wire_value> value = link.result.get();
    if (value->size() >= detail::tracked_result_min_bytes) {
      // A large result stays here until the caller (or a task it passes the ref to) pulls it.
      const std::uint64_t object = objects_.hold(value, link.via.get());
      link.via->send(wire::frame_type::response, link.request,
                     response_payload(response_status::held, held_result{object, value->size()}));
      return;
    }
    link.via->send(wire::frame_type::response, link.request,
                   std::string(1, static_cast<char>(response_status::ok)), std::move(value));
  } catch (const std::exception& e) {
    try {
      link.via->send(wire::frame_type::response, link.request,
                     failure_prefix(describe_exception(std::current_exception(), self)));
    } catch (...) {
      log(log_level::error, "cannot answer request {}: {}", link.request, e.what());
    }
  }
}

// Runs `body` (which returns the encoded result) as a task here and answers request `id`.
template <class Start>
void node::answer_when_ready(const std::shared_ptr<connection>& via, std::uint64_t id,
                             Start&& start) {
  auto* link = new reply_link();
  link->owner = this;
  link->via = via;
  link->request = id;
  try {
    link->result = start();
  } catch (...) {
    // Refused here (resources, shutdown, a dead actor): the caller fails with the reason.
    via->send(wire::frame_type::response, id,
              failure_prefix(describe_exception(std::current_exception(), node_id())));
    delete link;
    return;
  }
  if (!detail::ref_access::state_of(link->result)->subscribe(link)) link->on_ready();
}

template <class Body>
void node::run_served(const std::shared_ptr<connection>& via, std::uint64_t id,
                      const task_header& header, Body&& body) {
  task_options options;
  options.name = header.name.empty() ? header.function : header.name;
  options.retries = header.retries;
  options.resources = header.resources;
  answer_when_ready(
      via, id, [&] { return detail::submit_task(&core_, &options, std::forward<Body>(body)); });
}

void node::serve_task(connection& c, std::uint64_t id, wire::frame&& f) {
  // Payload: kind byte, task header, encoded argument entries.
  auto owned = std::make_shared<wire::byte_buffer>(std::move(f.payload));
  std::span<const std::byte> rest = std::span<const std::byte>(*owned).subspan(1);
  const task_header header = take_front<task_header>(rest, "task header");
  const detail::remote_function* fn = detail::find_remote_function(header.function);
  if (fn == nullptr) {
    throw protocol_error(fmt::format(
        "a task of function '{}' arrived, but this program registers no such function (add "
        "WEFT_REMOTE({}) to it)",
        header.function, header.function));
  }
  auto via = shared(c);
  const std::vector<detail::wire_entry> entries = detail::split_entries(rest);
  if (auto plain = plain_arguments(owned, entries)) {
    // Everything is in the request (the common case): no gathering, no pulls.
    run_served(via, id, header, [fn, plain] { return fn->invoke(plain->values, nullptr); });
    return;
  }
  std::shared_ptr<arrival> a = receive_arguments(owned, entries, via);
  std::shared_ptr<detail::arrived_arguments> arguments = a->arguments;
  auto run = [fn, arguments] { return fn->invoke(arguments->values, arguments->handles.get()); };
  if (a->complete()) {
    run_served(via, id, header, run);
    return;
  }
  a->done = [this, header, via, id, run](std::exception_ptr failed) {
    if (failed) {
      via->send(wire::frame_type::response, id,
                failure_prefix(describe_exception(failed, node_id())));
      return;
    }
    run_served(via, id, header, run);
  };
  gather(a);
}

}  // namespace weft::cluster

namespace weft::cluster {

void node::serve_actor_call(connection& c, std::uint64_t id, wire::frame&& f) {
  // Payload: kind byte, actor call header, encoded argument entries.
  auto owned = std::make_shared<wire::byte_buffer>(std::move(f.payload));
  std::span<const std::byte> rest = std::span<const std::byte>(*owned).subspan(1);
  const actor_call_header header = take_front<actor_call_header>(rest, "actor call header");
  auto via = shared(c);
  const std::string self = node_id();
  detail::actor_base* cell = actors_.exported_cell(header.actor);
  if (cell == nullptr) {
    // Its node attached to the actor before the actor's spawn got here: the call waits for
    // the grant that follows the spawn.
    std::weak_ptr<connection> weak = via;
    if (actors_.park_call(c, header.actor, owned->size(), [this, weak, id, owned] {
          auto again = weak.lock();
          if (!again || again->has_closed()) return;
          wire::frame replayed;
          replayed.payload = std::move(*owned);
          serve_actor_call(*again, id, std::move(replayed));
        })) {
      return;
    }
    failure gone;
    gone.type = std::string(actor_died_type);
    gone.message = actors_.tombstone(header.actor);
    gone.node = self;
    via->send(wire::frame_type::response, id, failure_prefix(gone));
    return;
  }
  std::unique_ptr<detail::actor_base, void (*)(detail::actor_base*)> hold(
      cell, [](detail::actor_base* a) { a->release(); });
  const detail::actor_type* type = detail::find_actor_type(cell->type());
  const detail::actor_method* method =
      type ? detail::find_actor_method(*type, header.method) : nullptr;
  if (method == nullptr) {
    via->send(wire::frame_type::response, id,
              failure_prefix(describe_exception(
                  std::make_exception_ptr(error(fmt::format(
                      "{} has no method '{}' registered with WEFT_ACTOR in the program of node {}",
                      cell->describe(), header.method, self))),
                  self)));
    return;
  }
  task_options options;
  options.name = header.name.empty() ? header.method : header.name;
  options.retries = header.retries;
  const std::vector<detail::wire_entry> entries = detail::split_entries(rest);
  if (auto plain = plain_arguments(owned, entries)) {
    std::shared_ptr<const detail::arrived_arguments> arguments = std::move(plain);
    answer_when_ready(via, id, [&] { return method->invoke(*cell, arguments, nullptr, options); });
    return;
  }
  std::shared_ptr<arrival> a = receive_arguments(owned, entries, via);
  std::shared_ptr<const detail::arrived_arguments> arguments = a->arguments;
  if (a->complete()) {
    answer_when_ready(via, id, [&] { return method->invoke(*cell, arguments, nullptr, options); });
    return;
  }
  // Queued now, so it keeps its place among this caller's calls; it starts once the arguments
  // held elsewhere have arrived (the gate), or fails with the reason they did not.
  auto* gate_state = new detail::plain_state<bool>();
  ref<bool> gate = detail::ref_access::make(detail::state_ptr<detail::state<bool>>(gate_state));
  answer_when_ready(via, id, [&] { return method->invoke(*cell, arguments, &gate, options); });
  a->done = [gate](std::exception_ptr failed) {
    auto* st = detail::ref_access::state_of(gate);
    if (failed) {
      st->fail(std::move(failed));
    } else {
      st->emplace_value(true);
      st->commit_value();
    }
  };
  gather(a);
}

result_ref node::rebuild(const lineage_recipe& recipe) {
  const std::shared_ptr<wire::byte_buffer>& owned = recipe.request();
  std::span<const std::byte> rest = std::span<const std::byte>(*owned).subspan(1);
  const task_header header = take_front<task_header>(rest, "task header");
  const detail::remote_function* fn = detail::find_remote_function(header.function);
  if (fn == nullptr) {
    throw object_lost(fmt::format(
        "it cannot be rebuilt: this program does not register its function '{}' (WEFT_REMOTE)",
        header.function));
  }
  std::shared_ptr<detail::arrived_arguments> plain =
      plain_arguments(owned, detail::split_entries(rest));
  if (!plain) {
    throw object_lost(fmt::format(
        "it cannot be rebuilt: the arguments of task '{}' refer to objects on other nodes",
        header.function));
  }
  task_options options;
  options.name = header.name.empty() ? header.function : header.name;
  options.retries = header.retries;
  options.resources = header.resources;
  try {
    return detail::submit_task(&core_, &options,
                               [fn, plain] { return fn->invoke(plain->values, nullptr); });
  } catch (const std::exception& e) {
    throw object_lost(fmt::format("it cannot be rebuilt here by running task '{}' again: {}",
                                  header.function, e.what()));
  }
}

}  // namespace weft::cluster
