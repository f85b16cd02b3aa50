#pragma once
// Objects across processes (DESIGN.md section 5): the values this node holds for others to
// pull (large task results it computed, large arguments it sent), the pulls it makes of other
// nodes' objects, chunk by chunk with several in flight, and the copies it keeps so that one
// object is pulled once per node.
//
// Owns, under its own mutex: the held values and who pulled them, the chunks in flight, the
// pulls under way and their waiters, the kept copies. Threads: any thread holds, releases and
// starts pulls; the node's io thread serves and completes them. Calls: its node for its id
// and links to other nodes (object_peers; never with its own lock held), the connections to
// send on, the core's arena for the copies it keeps.

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "connection.hpp"
#include "protocol.hpp"
#include "weft/cluster_settings.hpp"
#include "weft/detail/wire_value.hpp"

namespace weft::detail {
class runtime_core;
class object_record;
}  // namespace weft::detail

namespace weft::cluster {

struct node_handle;
class lineage_recipe;

/// What the object service needs of its node.
class object_peers {
 public:
  /// This node's id ("" before it joined).
  virtual std::string node_id() const = 0;
  /// The open link to node `id`, or null; never dials.
  virtual std::shared_ptr<connection> open_link(const std::string& id) = 0;
  /// A link to member `id` (dialled if needed), or null when `id` is not a member, cannot be
  /// reached or this node is stopping.
  virtual std::shared_ptr<connection> link_to_member(const std::string& id) = 0;

 protected:
  ~object_peers() = default;
};

/// A pull's end: its error, or the whole object's bytes.
using pull_done = std::function<void(std::exception_ptr, std::shared_ptr<const wire::byte_buffer>)>;

/// This node's held objects, pulls and kept copies.
class object_service {
 public:
  // What pull_uncached calls: the bytes are the caller's to keep or move.
  using raw_pull_done = std::function<void(std::exception_ptr, std::shared_ptr<wire::byte_buffer>)>;
  /// An object being pulled from its owner, chunk by chunk (io thread).
  struct pull_job {
    std::string owner;
    std::uint64_t object = 0;
    std::uint64_t key = 0;
    std::shared_ptr<wire::byte_buffer> bytes;
    std::uint64_t chunk = 0;
    std::uint64_t next = 0;
    int outstanding = 0;
    bool finished = false;
    const connection* via = nullptr;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    raw_pull_done done;
  };

  /// The service of the node behind `peers` and `handle`, sending on `io`'s connections with
  /// request ids from `request_ids` (shared with the node's other requests).
  object_service(detail::runtime_core& core, const cluster_settings& settings,
                 boost::asio::io_context& io, object_peers& peers,
                 std::shared_ptr<node_handle> handle, std::atomic<std::uint64_t>& request_ids);
  ~object_service();
  object_service(const object_service&) = delete;
  object_service& operator=(const object_service&) = delete;

  // ---- Holding values for other nodes ----

  /// Holds `value` for other nodes to pull; its id. Dropped when released, or when `for_link`
  /// (if not null) closes. `key`, when not 0, names the tracked object it is the value of.
  std::uint64_t hold(std::shared_ptr<detail::wire_value> value, const connection* for_link,
                     std::uint64_t key = 0);
  /// The key under which the tracked object `record` is offered to other nodes (its arena
  /// id); the first call arranges for its pullers to be told when the object is gone.
  std::uint64_t watch_object(detail::object_record& record);
  /// The tracked object `key` is gone here: every node that pulled it is told.
  void object_gone(std::uint64_t key) noexcept;
  /// Drops the holds `holds` (a request is over), telling whoever pulled them.
  void release_holds(const std::vector<std::uint64_t>& holds);
  /// Drops what was held for connection `c` (it closed).
  void drop_held_for(const connection& c);
  /// A node released object `body` names.
  void on_release(std::span<const std::byte> body);
  /// Answers a pull of a chunk (request `request` on `c`).
  void serve_pull(connection& c, std::uint64_t request, std::span<const std::byte> body);

  // ---- Pulling other nodes' values ----

  /// The local stand-in for result `id` (of `size` encoded bytes) held by node `owner`. If
  /// the owner is lost before it is read, the result is rebuilt here from `recipe`; without
  /// one, reading it then fails with object_lost saying `why_not`.
  std::shared_ptr<detail::remote_object> remote_result(const std::string& owner, std::uint64_t id,
                                                       std::uint64_t size,
                                                       std::shared_ptr<const lineage_recipe> recipe,
                                                       std::string why_not);
  /// Pulls object `id` (`size` bytes) from node `owner` without keeping a copy; the future
  /// fails with object_lost if the owner is gone or no longer holds it.
  std::future<std::shared_ptr<const wire::byte_buffer>> pull(const std::string& owner,
                                                             std::uint64_t id, std::uint64_t size);
  /// Pulls the object `where` names (or takes the copy kept here); `keep` keeps the copy in
  /// the arena for later tasks, until the owner drops the object.
  void start_pull(const detail::wire_reference& where, bool keep, pull_done done);
  /// Tells node `owner` that the last local ref to its object `id` is gone.
  void release_remote(const std::string& owner, std::uint64_t id);
  /// Where the payload of an arriving frame goes: a chunk's place in its pull's buffer, or
  /// empty (connection_events::placement).
  std::span<std::byte> placement(const wire::frame_header& header, std::size_t& skip);
  /// Completes a chunk if `request` is one; false otherwise (io thread).
  bool complete_pull(connection& c, std::uint64_t request, std::span<const std::byte> payload,
                     bool placed);
  /// Fails the pulls in flight that `match` selects with object_lost saying `why`.
  void fail_pulls_where(const std::function<bool(const pull_job&)>& match, const std::string& why);
  /// The owner of a kept copy said it dropped the object (`body`).
  void on_object_dropped(std::span<const std::byte> body);
  /// Drops the kept copies that `match` selects (by owner, id or key, and whether keyed).
  void drop_copies_where(
      const std::function<bool(const std::string& owner, std::uint64_t id, bool keyed)>& match);

 private:
  // A result kept for a caller on the node that computed it, or an argument held for one
  // request. `key`, when not 0, names the tracked object it is the value of: every hold of
  // that object carries the key, pullers keep one copy per key, and they are told when the
  // object itself is gone (object_pullers_) rather than when this hold is.
  struct held_object {
    std::shared_ptr<detail::wire_value> value;
    const connection* for_link;                      // dropped when this connection closes
    std::vector<std::weak_ptr<connection>> pullers;  // told when it is dropped
    std::uint64_t key = 0;
  };
  struct pull_chunk {
    std::shared_ptr<pull_job> job;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
  };
  // A copy of another node's object kept in the arena, until the owner drops the object or
  // leaves.
  struct kept_object {
    detail::state_ptr<detail::state<wire::byte_buffer>> value;
    std::string owner;
    std::uint64_t id = 0;  // the hold's id, or the object's key when `keyed`
    bool keyed = false;
  };
  struct pull_waiters {
    bool keep = false;
    std::vector<pull_done> done;
  };

  void tell_pullers(std::uint64_t id, const held_object& held);
  std::shared_ptr<const wire::byte_buffer> kept_copy(const std::string& key);
  std::shared_ptr<const wire::byte_buffer> keep_copy(const std::string& key,
                                                     const detail::wire_reference& where,
                                                     std::shared_ptr<wire::byte_buffer> bytes);
  void pull_uncached(const detail::wire_reference& where, raw_pull_done done);
  void request_chunk(const std::shared_ptr<pull_job>& job, const std::shared_ptr<connection>& via);

  detail::runtime_core& core_;
  const cluster_settings& settings_;
  boost::asio::io_context& io_;
  object_peers& peers_;
  const std::shared_ptr<node_handle> handle_;
  std::atomic<std::uint64_t>& request_ids_;

  mutable std::mutex mutex_;  // guards everything below
  std::map<std::uint64_t, held_object> held_;
  std::uint64_t next_object_ = 1;
  // Who pulled each tracked object offered under a key (see held_object).
  std::map<std::uint64_t, std::vector<std::weak_ptr<connection>>> object_pullers_;
  std::unordered_map<std::uint64_t, pull_chunk> pulls_;  // chunks in flight, by request id
  std::map<std::string, pull_waiters> joining_;          // pulls under way, their waiters
  std::map<std::string, kept_object> kept_;              // by "owner/id" or "owner/key/key"
};

}  // namespace weft::cluster
