#pragma once
// A runtime's presence in a cluster (DESIGN.md section 5): one io_context thread, the
// connection to the head, lazily opened connections to workers, and for a head or worker an
// acceptor. It is the runtime_core's task_router: tasks of registered functions that should
// run elsewhere are encoded and sent from here, and their results complete the task's ref when
// they come back. It hands each frame to the service of its kind: the head's side
// (membership, heartbeats, names, status, stop) to head_service (present only on a head),
// objects to object_service, refs sent before they were ready to ref_exchange, and actors
// (exports, stand-ins, handles inside arguments) to actor_service; placement asks
// placement_view (the nodes and the load sent to each), and calls sent and not answered are in
// sent_calls. Each service has its own lock, taken after mutex_ (actor_service's is a leaf:
// it calls back into the node, through actor_links, only outside it). Still the node's own,
// under mutex_: the peer table, the link to the head, the spawns it sent and the questions it
// asked (actor_spawn.cpp, actors.cpp); a worker's side (task_server.cpp) keeps no state of its
// own beyond the arena it submits into.

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

#include "actor_restarts.hpp"
#include "actor_service.hpp"
#include "connection.hpp"
#include "core/task_router.hpp"
#include "head_service.hpp"
#include "lineage.hpp"
#include "object_service.hpp"
#include "placement.hpp"
#include "placement_view.hpp"
#include "protocol.hpp"
#include "ref_exchange.hpp"
#include "sent_calls.hpp"
#include "tls_context.hpp"
#include "weft/cluster_settings.hpp"
#include "weft/detail/actor_types.hpp"
#include "weft/ref.hpp"

namespace weft::detail {
class runtime_core;
}

namespace weft::cluster {

class node;
class actor_proxy;
struct reply_link;
struct arrival;

/// A task result on its way back to the caller.
using result_ref = ref<std::shared_ptr<detail::wire_value>>;

/// How a remote object's local stand-in reaches its node: cleared when the node stops, since
/// refs may outlive their runtime.
struct node_handle {
  // Recursive: a call made through the handle (a stand-in forwarding a call) may complete a
  // ref whose continuation reaches the node through the handle again.
  std::recursive_mutex mutex;
  node* self = nullptr;
};

/// One process's node: head, worker or driver.
class node final : public detail::task_router,
                   private connection_events,
                   private object_peers,
                   private actor_links,
                   private ref_host {
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
  std::vector<node_status> nodes() const override;
  void collect_metrics(detail::metric_snapshot& out) const override;
  std::string listen_host() const override;
  std::string cluster_token() const override { return settings_.token; }

  /// Sends `call` (its turn has come in `proxy`'s mailbox) to the actor's node; its result
  /// completes it later. Returns the error to fail it with if it cannot be sent.
  /// `losses` counts the owners that died under it before (a call sent again after a restart).
  std::exception_ptr forward_call(actor_proxy& proxy, detail::task_base& call,
                                  lost_attempts losses = {}) noexcept;
  /// Asks node `owner` to kill its actor `id`.
  void kill_remote_actor(const std::string& owner, const std::string& id) noexcept;
  /// Tells node `owner` that this node no longer holds handles to its actor `id`.
  void release_remote_actor(const std::string& owner, const std::string& id) noexcept;
  /// Forgets the stand-in `proxy` of actor `id` (it is being deleted).
  void forget_proxy(const std::string& id, const actor_proxy* proxy) noexcept;

  /// Runs here again the task whose request `recipe` kept, to rebuild its lost result; the
  /// ref to the encoded result. Throws object_lost when it cannot run here (its function is
  /// not registered here, its arguments refer to other nodes' objects, or it needs resources
  /// this node lacks).
  result_ref rebuild(const lineage_recipe& recipe);

  /// This node's held objects, pulls and kept copies.
  object_service& objects() noexcept { return objects_; }
  /// This node's exported refs and awaited ref values.
  ref_exchange& refs() noexcept { return refs_; }

  /// Serves the cluster until the head stops it (or, for the head, `weft stop`), or SIGTERM or
  /// SIGINT arrives. Throws weft::error if the connection to the head is lost.
  void serve();

 private:
  using clock = std::chrono::steady_clock;
  // connection_events
  void on_open(connection& c) override;
  void on_frame(connection& c, wire::frame&& f) override;
  void on_closed(connection& c, const std::string& reason) override;
  // What closing connection `c` was to this node, now forgotten: its link to the head
  // (head_link_closed decides what follows), or to peer `peer`.
  struct forgotten_link {
    bool head_link = false;
    std::string peer;
  };
  forgotten_link forget_link(const connection& c);
  std::span<std::byte> placement(const wire::frame_header& header, std::size_t& skip) override;
  // object_peers and actor_links (node_id is task_router's too)
  std::shared_ptr<connection> open_link(const std::string& id) override;
  std::shared_ptr<connection> link_to_member(const std::string& id) override;
  wire::byte_buffer ask_node(const std::string& node_id, request_kind kind,
                             const std::string& body) override;
  void forget_claim(const actor_status& named) noexcept override;
  // ref_host
  detail::wire_reference hold_for_request(std::uint64_t request,
                                          std::shared_ptr<const detail::wire_value> owner,
                                          std::span<const std::span<const std::byte>> pieces,
                                          const detail::wire_value::entry_pieces& entry) override;

  // The handshake identity of this node's connections, naming it `self_id`.
  link_identity identity(std::string self_id) const;
  void start_listening(const std::string& host, std::uint16_t port);
  void accept_next();
  // Counts accepted connection `c` among those still in their handshake; past
  // max_unproven_connections the oldest of them is turned away.
  void admit_unproven(std::shared_ptr<connection> c);
  static constexpr std::size_t max_unproven_connections = 64;
  void join_head();
  void send_join(connection& head);
  // Hands a request to the service of its kind, if this node's role serves it.
  void on_request(connection& c, wire::frame&& f);
  void on_head_request(connection& c, std::uint64_t id, request_kind kind,
                       std::span<const std::byte> body);
  void on_actor_request(connection& c, std::uint64_t id, request_kind kind,
                        std::span<const std::byte> body);
  void on_stop_node(connection& c);
  void on_response(connection& c, wire::frame&& f);
  void on_heartbeat(connection& c, wire::frame&& f);
  void tick();
  // Runs `job` on a background thread of the core (it may block, e.g. asking the head); false
  // when the runtime shut down.
  bool in_background(std::function<void()> job) noexcept;
  void request_stop(std::string reason, bool failure);
  void shut_connections(const std::string& reason);
  std::shared_ptr<connection> shared(connection& c);

  // Starts a head: listens, takes the id "head" and creates its head_service.
  void start_head();

  // task_server.cpp
  friend struct reply_link;
  void serve_task(connection& c, std::uint64_t id, wire::frame&& f);
  template <class Start>
  void answer_when_ready(const std::shared_ptr<connection>& via, std::uint64_t id, Start&& start);
  template <class Body>
  void run_served(const std::shared_ptr<connection>& via, std::uint64_t id,
                  const task_header& header, Body&& body);
  void answer_task(reply_link& link) noexcept;

  // arguments.cpp: a request's arguments, sent (prepare_arguments: large values held for the
  // receiver to pull, refs not ready exported under tokens, handles inside values turned into
  // entries) and received (receive_arguments: pulls and resolves, then decoding).
  std::shared_ptr<detail::wire_value> prepare_arguments(std::shared_ptr<detail::wire_value> body,
                                                        const std::string& target,
                                                        std::uint64_t request,
                                                        outgoing_arguments& left);
  void release_arguments(const outgoing_arguments& left);
  // Holds the bytes `pieces` (of argument entry `entry`, inside `owner`) here for a receiver
  // to pull; the reference to send it.
  detail::wire_reference hold_pieces(std::shared_ptr<const detail::wire_value> owner,
                                     std::span<const std::span<const std::byte>> pieces,
                                     const detail::wire_value::entry_pieces& entry);
  void append_handle_entries(const detail::wire_value& body, const std::string& target,
                             std::uint64_t request, outgoing_arguments& left, std::string& table);
  std::shared_ptr<arrival> receive_arguments(std::shared_ptr<wire::byte_buffer> request,
                                             const std::vector<detail::wire_entry>& entries,
                                             std::shared_ptr<connection> via);
  void gather(const std::shared_ptr<arrival>& a);

  // actor_spawn.cpp
  // The node to spawn the actor `request` asks for on ("": here); `type` is its registration
  // (nullptr: none), `can_travel` whether it can be sent to another process. Throws when no
  // node can host it, saying why.
  std::string place_actor(const detail::cluster_spawn_request& request,
                          const detail::actor_type* type, bool can_travel);
  // The live node `pinned` (actor_options::node) if it can host `type_name`.
  std::string pinned_node(const std::string& pinned, const std::string& type_name) const;
  // Another node for the actor, by resources and load ("": here, when `stay_here` or no other
  // node can host it and it fits here) (mutex_ held).
  std::string place_elsewhere(const detail::cluster_spawn_request& request,
                              const std::string& type_name, bool fits_here, bool stay_here,
                              bool outlive_driver);
  // Claims `named`'s name at the head, waiting (bounded) while an ending actor holds it; the
  // live actor of that name for get_or_spawn (nullptr: claimed). Throws for a duplicate.
  detail::actor_base* claim_name(const detail::cluster_spawn_request& request,
                                 const actor_status& named);
  // Sends the spawn of `named` to node `target`; its stand-in here.
  detail::actor_base* spawn_elsewhere(detail::cluster_spawn_request& request,
                                      const detail::actor_type& type, const actor_status& named,
                                      const std::string& target);
  void send_spawn(const std::string& target, spawn_order order,
                  std::shared_ptr<detail::wire_value> arguments);
  void serve_spawn(connection& c, std::uint64_t id, wire::frame&& f);
  bool complete_spawn(std::uint64_t id, std::span<const std::byte> payload);
  void answer_spawn(const std::shared_ptr<connection>& via, std::uint64_t id);

  // actor_restart.cpp
  // Keeps what re-creates the actor of `proxy` (spawned on `target` by `order`) elsewhere.
  void keep_for_restart(actor_proxy& proxy, const spawn_order& order,
                        std::shared_ptr<detail::wire_value> arguments, const actor_options& options,
                        const std::string& target);
  // Node `node_id` was lost (its link closed, the view dropped it, or a call found no link to
  // it): starts restarting the actors this node created there (any thread; idempotent).
  void owner_lost(const std::string& node_id);
  // Waits (io thread, bounded by `deadline`) until the head's view no longer lists `old`, then
  // restarts actor `id` (or, if the node still lives, resumes sending to it).
  // `proxy` is its stand-in, with a reference the restart drops when it ends.
  void await_owner_gone(const std::string& id, actor_proxy& proxy, const std::string& old,
                        clock::time_point deadline);
  // Claims the name of the actor `order` spawned for its new node `target` at the head; ""
  // when claimed, else why not.
  std::string claim_again(const spawn_order& order, const std::string& target);
  // Re-creates actor `id` on another node (a background job: it asks the head).
  void restart_actor(const std::string& id, actor_proxy& proxy, const std::string& old);
  // Follows named actor `id`, spawned by another process, to the node its spawner re-created
  // it on (looked up by name at the head, bounded), or ends its stand-in.
  void follow_actor(const std::string& id, actor_proxy& proxy, const std::string& old);
  // Calls off the restart of actor `id`: node `old` still lives.
  void resume_on_owner(const std::string& id, actor_proxy& proxy, const std::string& old);
  // Actor `id` cannot be restarted (`why`): its stand-in and parked calls die.
  void end_restart(const std::string& id, actor_proxy& proxy, const std::string& old,
                   const std::string& why);
  // Sends a call that was in flight when `old` was lost to `proxy`'s owner (now `now`) again,
  // if max_task_retries allows (nullopt: this node did not spawn the actor, so at most once),
  // else fails it with actor_died.
  void retry_call(actor_proxy& proxy, sent_call call, std::optional<int> max_task_retries,
                  const std::string& old, const std::string& now);

  // head_return.cpp: the head's link closed under a joined node.
  // Decides (io thread): fenced (cut off or frozen past the heartbeat timeout: it stops) or
  // the head went away (it keeps running and tries again).
  void head_link_closed(const std::string& reason);
  // From tick(): dials the head again when it is time; a worker past
  // cluster.head_reconnect_timeout stops instead.
  void try_head_again();
  // True while the head is away (a join answer then is a return).
  bool rejoining() const;
  // The head answered this node's return on `c` with `payload`.
  void rejoined(connection& c, std::span<const std::byte> payload);
  // Registers the named actors exported here at the head again (a background job).
  void register_names_again();
  // Why the head cannot be asked now.
  std::string head_unreachable() const;
  std::chrono::milliseconds head_retry_interval() const;

  // actors.cpp
  wire::byte_buffer ask_head(request_kind kind, const std::string& body);
  bool complete_ask(std::uint64_t id, wire::frame& f);
  void fail_asks(const std::string& why);

  // task_server.cpp
  void serve_actor_call(connection& c, std::uint64_t id, wire::frame&& f);

  // dispatch.cpp
  static std::exception_ptr lost_call(const sent_call& p, const std::string& why);
  // Registers and sends a call; the error to fail it with if that fails. `unsent` is set when
  // the connection was gone before anything was registered or sent.
  std::exception_ptr send_call(detail::task_base& task, const std::string& chosen,
                               std::shared_ptr<connection> via, std::string prefix, bool& unsent,
                               lost_attempts losses = {});
  // Sends task `task` (claimed by hand_to_remote) to `chosen` over `via`, after `losses`; the
  // error to fail it with if that fails (`unsent` as for send_call).
  std::exception_ptr send_task(detail::task_base& task, const std::string& chosen,
                               std::shared_ptr<connection> via, lost_attempts losses, bool& unsent);
  // The node that task `call` was sent to was lost (`why`) before it answered: sends it to
  // another node that can run it, runs it here, or fails it with node_died once
  // task_options::node_retries sends are used up or no node can take it.
  void resend_lost(sent_call call, const std::string& why);
  // Ends a sent task whose result is set, and gives it back to its core or stand-in.
  void finish_task(detail::task_base& task);
  // Gives an ended sent task back to the stand-in that forwarded it, or to the core.
  void hand_back(detail::task_base& task);
  // The link to node `id` at `address`, dialed if there is none yet (mutex_ held).
  std::shared_ptr<connection> peer_connection(const std::string& id, const std::string& address);
  void complete_call(std::uint64_t id, std::span<const std::byte> payload);
  void fail_call(detail::task_base& task, std::exception_ptr why);
  void fail_calls_where(const std::function<bool(const sent_call&)>& match,
                        const std::function<std::exception_ptr(const sent_call&)>& why);
  // The calls `match` selects were lost with their node or connection (`why`): tasks are
  // sent again (resend_lost), actor calls fail with actor_died.
  void lose_calls_where(const std::function<bool(const sent_call&)>& match,
                        const std::function<std::string(const sent_call&)>& why);
  void apply_view(cluster_status view);
  std::size_t local_threshold() const;

  detail::runtime_core& core_;
  const cluster_settings settings_;
  // Shared by every connection when the cluster runs over TLS; null for plain TCP.
  const std::shared_ptr<asio::ssl::context> tls_ = make_tls_context(settings_);
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
  std::map<std::string, std::shared_ptr<connection>> peers_;
  std::shared_ptr<connection> head_;
  // While the head is away: since when, why its link closed, and, when this node will not try
  // again (the head refused its return, or declared it dead), why not.
  struct head_absence {
    clock::time_point since;
    std::string reason;
    std::string refused;
  };
  std::optional<head_absence> head_absent_;
  // Spawn requests sent and not answered: the actor's id, and what its arguments left here.
  struct pending_spawn {
    std::string actor;
    std::string node;
    outgoing_arguments left;
    std::shared_ptr<detail::wire_value> arguments;  // their values, kept until the answer
    resource_map resources;
  };
  std::unordered_map<std::uint64_t, pending_spawn> spawns_;
  std::unordered_map<std::uint64_t, std::shared_ptr<std::promise<wire::byte_buffer>>> asks_;
  bool serve_done_ = false;
  bool serve_failed_ = false;
  std::string stop_reason_;
  std::condition_variable serve_cv_;

  // io thread only.
  std::set<std::shared_ptr<connection>> accepted_;
  std::deque<std::weak_ptr<connection>> unproven_;  // accepted, handshake not done, oldest first
  std::uint64_t closed_sent_ = 0;                   // bytes of connections that are gone
  std::uint64_t closed_received_ = 0;
  std::shared_ptr<std::promise<void>> joined_;  // set while joining
  std::uint64_t join_request_ = 0;
  clock::time_point last_view_at_ = clock::now();  // the head's last view (or join answer)
  clock::time_point last_tick_at_{};               // the last tick (none yet: the epoch)
  clock::time_point frozen_until_{};  // a tick came late: this node may have been declared dead
  clock::time_point next_head_try_{};
  std::unique_ptr<head_service> head_service_;  // head only

  const std::shared_ptr<node_handle> handle_ = std::make_shared<node_handle>();
  std::atomic<bool> stopped_{false};
  std::atomic<std::uint64_t> next_request_{1};
  std::atomic<std::uint64_t> tasks_served_{0};
  std::atomic<std::uint64_t> heartbeats_sent_{0};
  std::atomic<std::uint64_t> actors_restarted_{0};  // re-created elsewhere by this spawner
  placement_view view_;      // the nodes and the load sent to each (own lock, taken after mutex_)
  sent_calls calls_{view_};  // calls sent and not answered (own lock, taken after mutex_)
  object_service objects_{core_, settings_, io_, *this, handle_, next_request_};
  ref_exchange refs_{*this, handle_};
  actor_service actors_{core_, *this, handle_};      // exports, stand-ins, grants (own lock)
  lineage_budget lineage_{settings_.lineage_bytes};  // recipes of held results (atomic)
  actor_restarts restarts_;  // what re-creates this node's actors elsewhere (own leaf lock)
};

}  // namespace weft::cluster
