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

// The type name and message of an exception, for the caller's task_error.
failure describe_exception(const std::exception_ptr& e, const std::string& node) {
  failure out;
  out.node = node;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    out.type = detail::demangle(typeid(x).name());
    out.message = x.what();
  } catch (...) {
    out.type = "unknown";
    out.message = "an exception not derived from std::exception";
  }
  return out;
}

std::string failure_prefix(const failure& f) {
  std::string prefix(1, static_cast<char>(response_status::failed));
  prefix += to_bytes(f);
  return prefix;
}

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
  std::vector<std::shared_ptr<wire::byte_buffer>> pulled;
  std::vector<std::span<const std::byte>> values;
  int missing = 0;
  std::exception_ptr error;
};

}  // namespace

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
  auto gathering = std::make_shared<argument_gathering>();
  gathering->request = owned;
  gathering->values.resize(entries.size());
  gathering->pulled.resize(entries.size());
  std::vector<std::pair<std::size_t, detail::wire_reference>> references;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].tag == detail::wire_value::entry_reference)
      references.emplace_back(i, detail::parse_reference(entries[i].bytes));
    else
      gathering->values[i] = entries[i].bytes;
  }
  auto via = shared(c);
  auto run = [this, fn, header, via, id, gathering] {
    if (gathering->error) {
      via->send(wire::frame_type::response, id,
                failure_prefix(describe_exception(gathering->error, node_id())));
      return;
    }
    task_options options;
    options.name = header.name.empty() ? header.function : header.name;
    options.retries = header.retries;
    options.resources = header.resources;
    auto* link = new reply_link();
    link->owner = this;
    link->via = via;
    link->request = id;
    try {
      link->result = detail::submit_task(&core_, &options,
                                         [fn, gathering] { return fn->invoke(gathering->values); });
    } catch (...) {
      // Refused here (resources, shutdown): the caller's task fails with the reason.
      via->send(wire::frame_type::response, id,
                failure_prefix(describe_exception(std::current_exception(), node_id())));
      delete link;
      return;
    }
    if (!detail::ref_access::state_of(link->result)->subscribe(link)) link->on_ready();
  };
  if (references.empty()) {
    run();
    return;
  }
  gathering->missing = static_cast<int>(references.size());
  for (auto& [index, ref] : references) {
    // Completions run on the io thread (or right here for an object this node holds).
    start_pull(ref.owner, ref.id, ref.size,
               [gathering, run, index = index](std::exception_ptr e,
                                               std::shared_ptr<wire::byte_buffer> bytes) {
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
