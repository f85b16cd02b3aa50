#pragma once
// A runtime's presence in a cluster (DESIGN.md section 5): one io_context thread, the
// connection to the head, lazily opened connections to workers, and for a head or worker an
// acceptor. It is the runtime_core's task_router: tasks of registered functions that should
// run elsewhere are encoded and sent from here, and their results complete the task's ref when
// they come back. The head's side (membership, heartbeats, status, stop) is in head.cpp, a
// worker's side (running tasks for others) in task_server.cpp, a caller's side (placement,
// sending, results) in dispatch.cpp.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "connection.hpp"
#include "core/task_router.hpp"
#include "membership.hpp"
#include "messages.hpp"
#include "placement.hpp"
#include "weft/cluster_settings.hpp"
#include "weft/detail/actor_directory.hpp"
#include "weft/ref.hpp"

namespace weft::detail {
class runtime_core;
}

namespace weft::cluster {

class node;
class actor_proxy;
struct reply_link;
/// A task result on its way back to the caller.
using result_ref = ref<std::shared_ptr<detail::wire_value>>;

/// How a remote object's local stand-in reaches its node: cleared when the node stops, since
/// refs may outlive their runtime.
struct node_handle {
  std::mutex mutex;
  node* self = nullptr;
};

/// One process's node: head, worker or driver.
class node final : public detail::task_router, private connection_events {
 public:
  /// Starts the node for `core`. A head starts listening; a worker or driver connects to the
  /// head (retrying until settings.connect_timeout) and joins. Throws weft::error when the head
  /// cannot be reached, auth_error when it refuses the handshake, config_error for an address
  /// that cannot be listened on.
  node(detail::runtime_core& core, const cluster_settings& settings);
  ~node() override;
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  bool route(detail::task_base& task) noexcept override;
  void stop() noexcept override;
  std::string node_id() const override;
  detail::actor_base* spawn_actor(detail::cluster_spawn_request& request) override;
  detail::actor_base* find_actor(const std::string& name, const std::string& ns,
                                 const std::type_info& type) override;
  void actor_died(detail::actor_base& actor) noexcept override;

  /// Sends `call` (its turn has come in `proxy`'s mailbox) to the actor's node; its result
  /// completes it later. Returns the error to fail it with if it cannot be sent.
  std::exception_ptr forward_call(actor_proxy& proxy, detail::task_base& call) noexcept;
  /// Asks node `owner` to kill its actor `id`.
  void kill_remote_actor(const std::string& owner, const std::string& id) noexcept;
  /// Tells node `owner` that this node no longer holds handles to its actor `id`.
  void release_remote_actor(const std::string& owner, const std::string& id) noexcept;
  /// Forgets the stand-in `proxy` of actor `id` (it is being deleted).
  void forget_proxy(const std::string& id, const actor_proxy* proxy) noexcept;

  /// The local stand-in for result `id` (of `size` encoded bytes) held by node `owner`.
  std::shared_ptr<detail::remote_object> remote_result(const std::string& owner, std::uint64_t id,
                                                       std::uint64_t size);
  /// Pulls object `id` (`size` bytes) from node `owner`; the future fails with object_lost if
  /// the owner is gone or no longer holds it.
  std::future<std::shared_ptr<const wire::byte_buffer>> pull(const std::string& owner,
                                                             std::uint64_t id, std::uint64_t size);
  /// Tells node `owner` that the last local ref to its object `id` is gone.
  void release_remote(const std::string& owner, std::uint64_t id);

  /// Serves the cluster until the head stops it (or, for the head, `weft stop`), or SIGTERM or
  /// SIGINT arrives. Throws weft::error if the connection to the head is lost.
  void serve();

 private:
  struct pending_call {
    detail::task_base* task;
    std::string node;
    const connection* via;
    std::vector<std::uint64_t> holds;  // large arguments held here for the worker to pull
  };
  using clock = std::chrono::steady_clock;
  using pull_done =
      std::function<void(std::exception_ptr, std::shared_ptr<const wire::byte_buffer>)>;
  // What pull_uncached calls: the bytes are the caller's to keep or move.
  using raw_pull_done = std::function<void(std::exception_ptr, std::shared_ptr<wire::byte_buffer>)>;
  // A result kept for a caller on the node that computed it.
  struct held_object {
    std::shared_ptr<detail::wire_value> value;
    const connection* for_link;                      // dropped when this connection closes
    std::vector<std::weak_ptr<connection>> pullers;  // told when it is dropped
  };
  // An object being pulled from its owner, chunk by chunk (io thread).
  struct pull_job {
    std::string owner;
    std::uint64_t object = 0;
    std::shared_ptr<wire::byte_buffer> bytes;
    std::uint64_t chunk = 0;
    std::uint64_t next = 0;
    int outstanding = 0;
    bool finished = false;
    const connection* via = nullptr;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    raw_pull_done done;
  };
  struct pull_chunk {
    std::shared_ptr<pull_job> job;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
  };

  // connection_events
  void on_open(connection& c) override;
  void on_frame(connection& c, wire::frame&& f) override;
  void on_closed(connection& c, const std::string& reason) override;
  std::span<std::byte> placement(const wire::frame_header& header, std::size_t& skip) override;

  // The handshake identity of this node's connections, naming it `self_id`.
  link_identity identity(std::string self_id) const;
  void start_listening(const std::string& host, std::uint16_t port);
  void accept_next();
  void join_head();
  void send_join(connection& head);
  void on_request(connection& c, wire::frame&& f);
  void on_response(connection& c, wire::frame&& f);
  void on_heartbeat(connection& c, wire::frame&& f);
  void tick();
  void request_stop(std::string reason, bool failure);
  void shut_connections(const std::string& reason);
  std::shared_ptr<connection> shared(connection& c);

  // head.cpp
  void head_start();
  void head_on_join(connection& c, std::uint64_t id, std::span<const std::byte> body);
  void head_on_heartbeat(connection& c, std::span<const std::byte> body);
  void head_on_stop(connection& c, std::uint64_t id);
  void head_tick();
  void head_lost(connection& c, const std::string& reason);
  void head_broadcast();
  static std::shared_ptr<connection> member_link(const connection* link);

  // task_server.cpp
  friend struct reply_link;
  void serve_task(connection& c, std::uint64_t id, wire::frame&& f);
  template <class Start>
  void answer_when_ready(const std::shared_ptr<connection>& via, std::uint64_t id, Start&& start);
  template <class Body>
  void run_served(const std::shared_ptr<connection>& via, std::uint64_t id,
                  const task_header& header, Body&& body);
  void answer_task(reply_link& link) noexcept;

  // objects.cpp
  std::uint64_t hold(std::shared_ptr<detail::wire_value> value, const connection* for_link);
  void on_release(std::span<const std::byte> body);
  void drop_held_for(const connection& c);
  void serve_pull(connection& c, std::uint64_t request, std::span<const std::byte> body);
  // Pulls an object (or takes the copy kept here); `keep` keeps the copy in the arena for later
  // tasks, until the owner drops the object.
  void start_pull(const std::string& owner, std::uint64_t id, std::uint64_t size, bool keep,
                  pull_done done);
  std::shared_ptr<const wire::byte_buffer> kept_copy(const std::string& key);
  std::shared_ptr<const wire::byte_buffer> keep_copy(const std::string& key,
                                                     const std::string& owner,
                                                     std::shared_ptr<wire::byte_buffer> bytes);
  void drop_copies_where(
      const std::function<bool(const std::string& owner, std::uint64_t id)>& match);
  void on_object_dropped(std::span<const std::byte> body);
  void tell_pullers(std::uint64_t id, const held_object& held);
  void pull_uncached(const std::string& owner, std::uint64_t id, std::uint64_t size,
                     raw_pull_done done);
  void request_chunk(const std::shared_ptr<pull_job>& job, const std::shared_ptr<connection>& via);
  bool complete_pull(connection& c, std::uint64_t request, std::span<const std::byte> payload,
                     bool placed);
  void fail_pulls_where(const std::function<bool(const pull_job&)>& match, const std::string& why);

  // An actor of this node that other nodes can reach: named, or spawned here for another node.
  struct exported_actor {
    detail::actor_base* cell = nullptr;  // one reference held
    std::string name;
    std::string name_space;
    std::string type;
    // Connections of nodes holding handles (one handle held for each).
    std::map<const connection*, std::weak_ptr<connection>> holders;
  };

  // actors.cpp
  std::string new_actor_id();
  std::string place_actor(const detail::cluster_spawn_request& request,
                          const detail::actor_type* type, bool can_travel);
  detail::actor_base* attach_proxy(const actor_status& where, const std::type_info& type);
  void send_spawn(const std::string& target, spawn_order order,
                  std::shared_ptr<detail::wire_value> arguments);
  void export_actor(detail::actor_base* cell, const actor_status& named, const connection* holder);
  void add_tombstone(const std::string& id, const std::string& message);
  void forget_claim(const actor_status& named) noexcept;
  detail::actor_base* exported_cell(const std::string& id);
  std::string tombstone(const std::string& id);
  void send_to_node(const std::string& node_id, request_kind kind, std::string body) noexcept;
  wire::byte_buffer ask_head(request_kind kind, const std::string& body);
  void serve_spawn(connection& c, std::uint64_t id, std::span<const std::byte> body);
  void on_attach_actor(connection& c, std::span<const std::byte> body);
  void on_release_actor(connection& c, std::span<const std::byte> body);
  void on_kill_actor(connection& c, std::span<const std::byte> body);
  void on_actor_ended(std::span<const std::byte> body);
  void drop_holders_for(const connection& c);
  void proxies_lost(const std::string& node_id, const std::string& why);
  bool complete_ask(std::uint64_t id, wire::frame& f);
  bool complete_spawn(std::uint64_t id, std::span<const std::byte> payload);
  void fail_asks(const std::string& why);

  // head.cpp (named actors)
  std::string head_answer(request_kind kind, std::span<const std::byte> body);
  void head_forget_name(std::span<const std::byte> body);
  void head_drop_names_of(const std::string& node_id);

  // task_server.cpp
  void serve_actor_call(connection& c, std::uint64_t id, wire::frame&& f);

  // dispatch.cpp
  static std::exception_ptr lost_call(const pending_call& p, const std::string& why);
  // Registers and sends a call; the error to fail it with if that fails. `unsent` is set when
  // the connection was gone before anything was registered or sent.
  std::exception_ptr send_call(detail::task_base& task, const std::string& chosen,
                               std::shared_ptr<connection> via, std::string prefix, bool& unsent);
  void finish_task(detail::task_base& task);
  std::shared_ptr<connection> peer_connection(const node_status& node);
  void complete_call(std::uint64_t id, std::span<const std::byte> payload);
  void fail_call(detail::task_base& task, std::exception_ptr why);
  void fail_calls_where(const std::function<bool(const pending_call&)>& match,
                        const std::function<std::exception_ptr(const pending_call&)>& why);
  void apply_view(cluster_status view);
  std::shared_ptr<detail::wire_value> hoist_large_arguments(
      std::shared_ptr<detail::wire_value> body, std::vector<std::uint64_t>& holds);
  void release_holds(const std::vector<std::uint64_t>& holds);
  std::size_t local_threshold() const;

  detail::runtime_core& core_;
  const cluster_settings settings_;
  const clock::time_point started_ = clock::now();
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::optional<tcp::acceptor> acceptor_;
  asio::steady_timer tick_timer_;
  std::thread thread_;

  // Guarded by mutex_.
  mutable std::mutex mutex_;
  std::string id_;
  std::string listen_address_;
  cluster_status view_;
  std::map<std::string, std::shared_ptr<connection>> peers_;
  std::map<std::string, std::uint64_t> in_flight_;
  std::uint64_t in_flight_total_ = 0;
  std::unordered_map<std::uint64_t, pending_call> pending_;
  std::size_t rotation_ = 0;
  std::vector<placement_candidate> candidates_;  // route()'s scratch list
  std::shared_ptr<connection> head_;
  std::map<std::uint64_t, held_object> held_;
  std::uint64_t next_object_ = 1;
  std::unordered_map<std::uint64_t, pull_chunk> pulls_;
  // Copies of other nodes' objects kept in the arena (by "owner/id"), until the owner drops
  // the object or leaves.
  struct kept_object {
    detail::state_ptr<detail::state<wire::byte_buffer>> value;
    std::string owner;
    std::uint64_t id = 0;
  };
  std::map<std::string, kept_object> kept_;
  struct pull_waiters {
    bool keep = false;
    std::vector<pull_done> done;
  };
  std::map<std::string, pull_waiters> joining_;              // pulls under way, their waiters
  std::unordered_map<std::string, exported_actor> exports_;  // by actor id
  std::unordered_map<const detail::actor_base*, std::string> export_ids_;
  std::map<std::string, std::string> tombstones_;          // ended actors' ids -> death messages
  std::deque<std::string> tombstone_order_;                // oldest first, to bound tombstones_
  std::unordered_map<std::string, actor_proxy*> proxies_;  // stand-ins here, by actor id
  std::unordered_map<std::uint64_t, std::string> spawns_;  // spawn requests -> actor ids
  std::unordered_map<std::uint64_t, std::shared_ptr<std::promise<wire::byte_buffer>>> asks_;
  std::uint64_t next_actor_ = 1;
  bool serve_done_ = false;
  bool serve_failed_ = false;
  std::string stop_reason_;
  std::condition_variable serve_cv_;

  // io thread only.
  std::set<std::shared_ptr<connection>> accepted_;
  std::uint64_t closed_sent_ = 0;  // bytes of connections that are gone
  std::uint64_t closed_received_ = 0;
  std::shared_ptr<std::promise<void>> joined_;  // set while joining
  std::uint64_t join_request_ = 0;
  std::unique_ptr<membership> members_;                 // head only
  std::map<const connection*, std::string> member_of_;  // head only
  std::map<std::string, actor_status> names_;           // head only: "ns\0name" -> actor
  clock::time_point last_tick_ = clock::now();          // head only

  const std::shared_ptr<node_handle> handle_ = std::make_shared<node_handle>();
  std::atomic<bool> stopped_{false};
  std::atomic<std::uint64_t> next_request_{1};
  std::atomic<std::uint64_t> tasks_served_{0};
};

}  // namespace weft::cluster
