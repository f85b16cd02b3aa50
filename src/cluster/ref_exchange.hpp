#pragma once
// Refs that cross nodes before they are ready (DESIGN.md section 5): the sender exports such
// a ref under a token and sends its value (or its error) after the request, on the request's
// connection, once the ref is ready; the receiver awaits the value under the sending
// connection and token. A value may arrive before anyone awaits it (its request is still
// being read): it is kept until awaited or until its connection closes.
//
// Owns, under its own mutex: the exported refs by token, the values awaited and those that
// came early. Threads: exports are made and released by any thread sending or answering a
// request; values are pushed by whichever thread completes the ref; arriving values are read
// on the io thread. Calls: its host (ref_host) for the node's id and to hold a large value
// for a request's receiver, never with its own lock held; the connections to send on.

#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "connection.hpp"
#include "weft/detail/state.hpp"
#include "weft/detail/wire_value.hpp"

namespace weft::cluster {

struct node_handle;

/// What the ref exchange needs of its node.
class ref_host {
 public:
  /// This node's id.
  virtual std::string node_id() const = 0;
  /// Holds the bytes `pieces` (entry `entry` of `owner`) here for the receiver of request
  /// `request` to pull, until that request is answered; the reference to send.
  virtual detail::wire_reference hold_for_request(
      std::uint64_t request, std::shared_ptr<const detail::wire_value> owner,
      std::span<const std::span<const std::byte>> pieces,
      const detail::wire_value::entry_pieces& entry) = 0;

 protected:
  ~ref_host() = default;
};

/// What a ref's value arriving under a token gives: its error, or the entry's tag and bytes
/// (kept alive by `keep`).
using resolve_done =
    std::function<void(std::exception_ptr error, unsigned char tag,
                       std::span<const std::byte> bytes, std::shared_ptr<const void> keep)>;

/// This node's exported refs and awaited ref values.
class ref_exchange {
 public:
  /// A ref's value awaited from the node that sent it (on connection `via`).
  struct pending_resolve {
    const connection* via = nullptr;
    resolve_done done;
  };

  /// The exchange of the node behind `host`; `handle` reaches it from a ref's continuation.
  ref_exchange(ref_host& host, std::shared_ptr<node_handle> handle);
  ~ref_exchange();
  ref_exchange(const ref_exchange&) = delete;
  ref_exchange& operator=(const ref_exchange&) = delete;

  // ---- The sender ----

  /// Exports the not-ready ref `handle`, named by request `request` to node `target`; its
  /// token.
  std::uint64_t export_ref(const detail::wire_handle& handle, const std::string& target,
                           std::uint64_t request);
  /// Once the request naming `tokens` is on connection `via`: each ref's value follows it
  /// there when the ref is ready.
  void activate(const std::vector<std::uint64_t>& tokens, const std::shared_ptr<connection>& via);
  /// Sends the value of the exported ref `token` (it is ready) and forgets it.
  void push(std::uint64_t token) noexcept;
  /// Forgets the exports `tokens` (their request is over).
  void release(const std::vector<std::uint64_t>& tokens);
  /// Forgets the exports sent to node `node_id` (it left).
  void drop_exports_for(const std::string& node_id);
  /// Forgets every export (the node stops).
  void drop_all_exports();

  // ---- The receiver ----

  /// Calls `done` with the value of the sender's ref `token`, coming on `via`.
  void await(const std::shared_ptr<connection>& via, std::uint64_t token, resolve_done done);
  /// A ref's value arrived on `c` (the request's body after its kind byte).
  void on_value(connection& c, std::span<const std::byte> body);
  /// Fails the awaited values that `match` selects with object_lost saying `why`.
  void fail_awaited_where(const std::function<bool(const pending_resolve&)>& match,
                          const std::string& why);
  /// Connection `c` closed: its early values go, and the values awaited on it fail (`why`).
  void connection_closed(const connection& c, const std::string& why);

 private:
  // A ref sent before it was ready: its value is sent to the grantee under the token.
  struct ref_export {
    detail::state_ptr<detail::state_base> state;
    detail::ref_value_encoder encode = nullptr;
    std::string grantee;            // the node it was sent to
    std::uint64_t request = 0;      // the request whose arguments named it
    std::weak_ptr<connection> via;  // the request's connection (set once it was sent)
  };
  struct early_value {
    std::shared_ptr<wire::byte_buffer> frame;
    std::span<const std::byte> body;
  };
  using link_token = std::pair<const connection*, std::uint64_t>;

  static void deliver(std::span<const std::byte> bytes, std::shared_ptr<const void> keep,
                      const resolve_done& done);
  void send_value(ref_export& exported, std::uint64_t token, connection& via);

  ref_host& host_;
  const std::shared_ptr<node_handle> handle_;

  std::mutex mutex_;  // guards everything below
  std::unordered_map<std::uint64_t, ref_export> exports_;
  std::uint64_t next_export_ = 1;
  std::map<link_token, pending_resolve> awaited_;
  std::map<link_token, early_value> early_values_;
};

}  // namespace weft::cluster
