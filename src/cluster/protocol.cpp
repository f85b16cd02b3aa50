// Failures between nodes: an exception described for the wire, and the error it becomes.

#include "protocol.hpp"

#include <typeinfo>

#include "core/live_actors.hpp"
#include "weft/errors.hpp"

namespace weft::cluster {

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
  return response_payload(response_status::failed, f);
}

std::exception_ptr exception_from(failure f, const std::string& task) {
  if (f.type == actor_died_type) return std::make_exception_ptr(actor_died(std::move(f.message)));
  if (f.type == "weft::object_lost")
    return std::make_exception_ptr(object_lost(std::move(f.message)));
  if (f.type == "weft::cancelled_error")
    return std::make_exception_ptr(cancelled_error(std::move(f.message)));
  return std::make_exception_ptr(
      task_error(task, std::move(f.type), std::move(f.message), std::move(f.node)));
}

actor_status named_by(const spawn_order& order, const std::string& node) {
  actor_status named;
  named.name = order.name;
  named.name_space = order.name_space;
  named.type = order.type;
  named.node = node;
  named.id = order.id;
  return named;
}

}  // namespace weft::cluster
