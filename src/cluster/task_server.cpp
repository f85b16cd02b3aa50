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
using result_ref = ref<std::shared_ptr<detail::wire_value>>;

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

// Sends a task's outcome back once its ref is ready; deletes itself after.
struct reply_link final : detail::continuation {
  std::shared_ptr<connection> via;
  std::uint64_t request = 0;
  result_ref result;
  std::string node;
  std::atomic<std::uint64_t>* served = nullptr;

  void on_ready() noexcept override {
    send();
    delete this;
  }

  void send() noexcept {
    served->fetch_add(1, std::memory_order_relaxed);
    auto* state = detail::ref_access::state_of(result);
    try {
      if (state->failed()) {
        via->send(wire::frame_type::response, request,
                  failure_prefix(describe_exception(state->error(), node)));
        return;
      }
      via->send(wire::frame_type::response, request,
                std::string(1, static_cast<char>(response_status::ok)), result.get());
    } catch (const std::exception& e) {
      // The result is over the frame limit, typically: the caller still gets an answer.
      try {
        via->send(wire::frame_type::response, request,
                  failure_prefix(describe_exception(std::current_exception(), node)));
      } catch (...) {
        log(log_level::error, "cannot answer request {}: {}", request, e.what());
      }
    }
  }
};

}  // namespace

void node::serve_task(connection& c, std::uint64_t id, wire::frame&& f) {
  // Payload: kind byte, task header, encoded arguments.
  auto owned = std::make_shared<std::vector<std::byte>>(std::move(f.payload));
  std::span<const std::byte> rest = std::span<const std::byte>(*owned).subspan(1);
  const task_header header = read_task_header(rest);
  const detail::remote_function* fn = detail::find_remote_function(header.function);
  if (fn == nullptr) {
    throw protocol_error(fmt::format(
        "a task of function '{}' arrived, but this program registers no such function (add "
        "WEFT_REMOTE({}) to it)",
        header.function, header.function));
  }
  const std::span<const std::byte> arguments = rest;
  task_options options;
  options.name = header.name.empty() ? header.function : header.name;
  options.retries = header.retries;
  options.resources = header.resources;
  auto* link = new reply_link();
  link->via = shared(c);
  link->request = id;
  link->node = node_id();
  link->served = &tasks_served_;
  try {
    link->result = detail::submit_task(&core_, &options, [fn, owned, arguments] {
      return fn->invoke(arguments);
    });
  } catch (...) {
    // Refused here (resources, shutdown): the caller's task fails with the reason.
    c.send(wire::frame_type::response, id,
           failure_prefix(describe_exception(std::current_exception(), link->node)));
    delete link;
    return;
  }
  if (!detail::ref_access::state_of(link->result)->subscribe(link)) link->on_ready();
}

}  // namespace weft::cluster
