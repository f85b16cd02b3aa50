// A worker's side of a node: running tasks other nodes send, and answering with the result or
// the exception (its type name and message).

#include <fmt/core.h>

#include <cstring>
#include <typeinfo>

#include "core/actor_registry.hpp"
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
      const std::uint64_t object = hold(value, link.via.get());
      std::string answer(1, static_cast<char>(response_status::held));
      append_u64(answer, object);
      append_u64(answer, value->size());
      link.via->send(wire::frame_type::response, link.request, std::move(answer));
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

namespace {

// The arguments of one task being gathered: their bytes are in the request, or pulled from
// the nodes that own them; the task is submitted once the last one is here.
struct argument_gathering {
  std::shared_ptr<wire::byte_buffer> request;
  std::vector<std::shared_ptr<const wire::byte_buffer>> pulled;
  std::vector<std::span<const std::byte>> values;
  int missing = 0;
  std::exception_ptr error;
};

}  // namespace

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
  const task_header header = read_task_header(rest);
  const detail::remote_function* fn = detail::find_remote_function(header.function);
  if (fn == nullptr) {
    throw protocol_error(fmt::format(
        "a task of function '{}' arrived, but this program registers no such function (add "
        "WEFT_REMOTE({}) to it)",
        header.function, header.function));
  }
  const std::vector<detail::wire_entry> entries = detail::split_entries(rest);
  std::vector<std::span<const std::byte>> values(entries.size());
  std::vector<std::pair<std::size_t, detail::wire_reference>> references;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].tag == detail::wire_value::entry_reference)
      references.emplace_back(i, detail::parse_reference(entries[i].bytes));
    else
      values[i] = entries[i].bytes;
  }
  auto via = shared(c);
  if (references.empty()) {
    // Everything is in the request (the common case): no gathering, no pulls.
    run_served(via, id, header,
               [fn, owned, values = std::move(values)] { return fn->invoke(values); });
    return;
  }
  auto gathering = std::make_shared<argument_gathering>();
  gathering->request = owned;
  gathering->values = std::move(values);
  gathering->pulled.resize(entries.size());
  gathering->missing = static_cast<int>(references.size());
  auto run = [this, fn, header, via, id, gathering] {
    if (gathering->error) {
      via->send(wire::frame_type::response, id,
                failure_prefix(describe_exception(gathering->error, node_id())));
      return;
    }
    run_served(via, id, header, [fn, gathering] { return fn->invoke(gathering->values); });
  };
  for (auto& [index, ref] : references) {
    // Completions run on the io thread (or right here for an object this node holds).
    start_pull(ref.owner, ref.id, ref.size, true,
               [gathering, run, index = index](std::exception_ptr e,
                                               std::shared_ptr<const wire::byte_buffer> bytes) {
                 if (e && !gathering->error) gathering->error = e;
                 if (bytes) {
                   gathering->values[index] = *bytes;
                   gathering->pulled[index] = std::move(bytes);
                 }
                 if (--gathering->missing == 0) run();
               });
  }
}

}  // namespace weft::cluster

namespace weft::cluster {

void node::serve_actor_call(connection& c, std::uint64_t id, wire::frame&& f) {
  // Payload: kind byte, actor call header, encoded argument entries.
  auto owned = std::make_shared<wire::byte_buffer>(std::move(f.payload));
  std::span<const std::byte> rest = std::span<const std::byte>(*owned).subspan(1);
  const actor_call_header header = read_actor_call_header(rest);
  auto via = shared(c);
  const std::string self = node_id();
  detail::actor_base* cell = exported_cell(header.actor);
  if (cell == nullptr) {
    failure gone;
    gone.type = std::string(actor_died_type);
    gone.message = tombstone(header.actor);
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
  const std::vector<detail::wire_entry> entries = detail::split_entries(rest);
  auto arguments = std::make_shared<detail::arrived_arguments>();
  arguments->keep.push_back(owned);
  arguments->values.resize(entries.size());
  std::vector<std::pair<std::size_t, detail::wire_reference>> references;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].tag == detail::wire_value::entry_reference)
      references.emplace_back(i, detail::parse_reference(entries[i].bytes));
    else
      arguments->values[i] = entries[i].bytes;
  }
  task_options options;
  options.name = header.name.empty() ? header.method : header.name;
  options.retries = header.retries;
  if (references.empty()) {
    answer_when_ready(via, id, [&] { return method->invoke(*cell, arguments, nullptr, options); });
    return;
  }
  // Queued now, so it keeps its place among this caller's calls; it starts once the arguments
  // held elsewhere have arrived (the gate), or fails with the reason they did not.
  auto* gate_state = new detail::plain_state<bool>();
  ref<bool> gate = detail::ref_access::make(detail::state_ptr<detail::state<bool>>(gate_state));
  answer_when_ready(via, id, [&] { return method->invoke(*cell, arguments, &gate, options); });
  auto missing = std::make_shared<int>(static_cast<int>(references.size()));
  auto first_error = std::make_shared<std::exception_ptr>();
  auto arrived = [gate, arguments, missing, first_error](
                     std::size_t index, std::exception_ptr e,
                     std::shared_ptr<const wire::byte_buffer> bytes) {
    if (e && !*first_error) *first_error = e;
    if (bytes) {
      arguments->values[index] = *bytes;
      arguments->keep.push_back(std::move(bytes));
    }
    if (--*missing != 0) return;
    auto* st = detail::ref_access::state_of(gate);
    if (*first_error) {
      st->fail(*first_error);
    } else {
      st->emplace_value(true);
      st->commit_value();
    }
  };
  for (auto& [index, reference] : references) {
    try {
      start_pull(reference.owner, reference.id, reference.size, true,
                 [arrived, index = index](std::exception_ptr e,
                                          std::shared_ptr<const wire::byte_buffer> bytes) {
                   arrived(index, std::move(e), std::move(bytes));
                 });
    } catch (...) {
      arrived(index, std::current_exception(), nullptr);
    }
  }
}

}  // namespace weft::cluster
