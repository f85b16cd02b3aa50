#pragma once
// The calls this node sent to other nodes and that have not been answered: tasks and actor
// calls, by request id, each with what its arguments left here (values held for the receiver
// to pull, refs exported under tokens) and the resources it holds there. It owns them under
// its own lock and counts each in and out of flight in the placement_view (whose lock comes
// after its own); it calls nothing else. Callers: senders on any thread (add), the io thread
// (answers, closed connections, nodes gone) and stop.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "placement_view.hpp"

namespace weft::detail {
class task_base;
class wire_value;
}  // namespace weft::detail

namespace weft::cluster {

class connection;

/// What a request's arguments left here for the receiver: large values held for it to pull,
/// and refs exported under tokens whose values follow the request. Released when the answer
/// comes.
struct outgoing_arguments {
  std::vector<std::uint64_t> holds;
  std::vector<std::uint64_t> exports;
};

/// The earlier sends of a task whose node was lost before it answered.
struct lost_attempts {
  int count = 0;        ///< How many nodes it was sent to were lost.
  std::string history;  ///< "worker-1 (why); worker-3 (why)", for the final error.
};

/// One call sent and not answered.
struct sent_call {
  detail::task_base* task = nullptr;
  std::string node;                 ///< The node it runs on.
  const connection* via = nullptr;  ///< The connection it was sent on.
  outgoing_arguments left;
  resource_map resources;  ///< What the task holds there while it runs.
  lost_attempts losses;    ///< Nodes lost under it before this send.
  /// For a task: its request as sent (kind and header, then the arguments), for lineage.
  std::string request_prefix;
  std::shared_ptr<const detail::wire_value> sent;
};

/// The calls in flight to other nodes.
class sent_calls {
 public:
  /// Counts the calls in flight in `view`.
  explicit sent_calls(placement_view& view) : view_(view) {}

  /// Registers `call` under request `id` and counts it in flight, unless `stopped` is set or
  /// `via` (the call's connection) has closed, both read under this lock: stopping and
  /// closing fail the registered calls after setting them, so no call is left behind. False
  /// if not registered.
  bool add(std::uint64_t id, sent_call call, const std::atomic<bool>& stopped,
           const connection& via);
  /// Takes the call of request `id` out of flight; nothing if it was failed already.
  std::optional<sent_call> take(std::uint64_t id);
  /// Takes out every call `match` selects.
  std::vector<sent_call> take_where(const std::function<bool(const sent_call&)>& match);
  /// Adds hold `hold` to what request `id`'s arguments left here; false when no such call is
  /// in flight.
  bool add_hold(std::uint64_t id, std::uint64_t hold);

 private:
  placement_view& view_;
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, sent_call> calls_;
};

}  // namespace weft::cluster
