// The messages of errors raised from header templates, kept out of line so headers stay small.

#include <fmt/core.h>

#include <chrono>

#include "weft/detail/submit.hpp"
#include "weft/detail/wire_value.hpp"
#include "weft/errors.hpp"
#include "weft/runtime.hpp"
#include "weft/when.hpp"

namespace weft::detail {
namespace {
std::string milliseconds(std::chrono::nanoseconds d) {
  return fmt::format("{:.3f} ms", std::chrono::duration<double, std::milli>(d).count());
}
}  // namespace

void throw_empty_ref(const char* operation) {
  throw error(fmt::format(
      "{} on an empty weft::ref (default-constructed or moved-from); assign it the result of "
      "submit() first",
      operation));
}

void throw_negative_timeout(const char* operation, std::chrono::nanoseconds d) {
  throw error(
      fmt::format("{}: the timeout is negative ({}); pass zero to poll or a positive "
                  "duration",
                  operation, milliseconds(d)));
}

void throw_timeout(std::chrono::nanoseconds d) {
  throw timeout_error(fmt::format("the value was not ready within {}", milliseconds(d)));
}

void throw_empty_argument(std::size_t index) {
  throw error(fmt::format(
      "submit: argument {} is an empty weft::ref (default-constructed or moved-from)", index));
}

void throw_empty_returned_ref() {
  throw error("a task returned an empty weft::ref; return the result of submit() or a value");
}

void throw_retry_needs_lvalue_call() {
  throw error(
      "task_options::retries needs a callable that can be called again with its arguments, but "
      "this one takes a move-only argument by value (it would be moved into the first attempt); "
      "take the argument by reference or set retries to 0");
}

void throw_not_remotable() {
  throw error("weft internal error: a task that cannot run on another node was sent to one");
}

void throw_bad_value_list(std::size_t index, std::uint64_t need, std::size_t have) {
  if (need == 0) {
    throw protocol_error(
        fmt::format("an encoded value list has {} unexpected bytes after value {}", have, index));
  }
  throw protocol_error(fmt::format(
      "an encoded value list ends early: value {} needs {} bytes, {} are left", index, need, have));
}

void throw_no_home() {
  throw error(
      "ref::then(): this ref was not produced by a runtime (e.g. make_ready_ref), so no runtime "
      "would run the continuation; use runtime::submit(fn, the_ref) instead");
}

void throw_bad_when_input(const char* what) {
  throw error(what);
}

std::exception_ptr make_cancelled(const task_base& task, const char* why) {
  return std::make_exception_ptr(cancelled_error(fmt::format("task '{}' {}", task.name(), why)));
}

void check_wait_arguments(std::size_t refs, std::size_t num,
                          std::optional<std::chrono::nanoseconds> timeout) {
  if (num > refs || (num == 0 && refs != 0)) {
    throw error(
        fmt::format("runtime::wait: num = {} but {} refs were given; num must be "
                    "between 1 and the number of refs",
                    num, refs));
  }
  if (timeout && timeout->count() < 0) throw_negative_timeout("runtime::wait", *timeout);
}

}  // namespace weft::detail

namespace weft {

task_error::task_error(std::string task, std::string type_name, std::string message,
                       std::string node)
    : error(fmt::format("task '{}' threw {} on node {}: {}", task, type_name, node, message)),
      task_(std::move(task)),
      type_name_(std::move(type_name)),
      message_(std::move(message)),
      node_(std::move(node)) {}

}  // namespace weft
