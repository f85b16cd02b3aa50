#pragma once
// The receiving side of a request's arguments (arguments.cpp): what must arrive before they can
// be decoded here. Values may be in the request itself, in objects to pull from the nodes that
// hold them, or behind tokens of the sending node (refs that were not ready when it sent the
// request: it sends their values after it, once they are). Refs and actor handles inside values
// come as a table of entries, resolved the same way, and are handed to the decoder through a
// handle_table.

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "weft/detail/actor_types.hpp"
#include "weft/detail/wire_value.hpp"
#include "wire/frame.hpp"

namespace weft::cluster {

class connection;

/// Argument and ref values at least this large are held by the sender and pulled by the
/// receiver, not sent inside the request.
inline constexpr std::uint64_t hoist_min_bytes = detail::tracked_result_min_bytes;

/// The refs and actor handles of an arrived argument list, once resolved: what decoding the
/// values that name them receives (a ready ref, or the actor's handle).
class handle_table final : public detail::handle_source {
 public:
  /// One handle: a ref's value bytes (or its error), or an actor's cell.
  struct slot {
    std::span<const std::byte> bytes;
    std::exception_ptr error;
    detail::actor_base* actor = nullptr;  // one reference and one handle held by the table
    bool is_actor = false;
  };

  explicit handle_table(std::size_t handles) : slots_(handles) {}
  ~handle_table();
  handle_table(const handle_table&) = delete;
  handle_table& operator=(const handle_table&) = delete;

  resolved_ref ref_at(std::uint32_t index) override;
  detail::actor_base* actor_at(std::uint32_t index, const std::type_info& type) override;

  /// The handles, filled in while the arguments are gathered (then read only).
  std::vector<slot>& slots() noexcept { return slots_; }
  /// Keeps `owner` (what a slot's bytes point into) alive as long as the table.
  void keep(std::shared_ptr<const void> owner);

 private:
  std::vector<slot> slots_;
  std::mutex keep_mutex_;
  std::vector<std::shared_ptr<const void>> keep_;
};

/// One request's arguments on their way to being decoded here.
struct arrival {
  std::shared_ptr<detail::arrived_arguments> arguments;
  std::shared_ptr<handle_table> table;  // null when the values hold no refs or handles
  std::shared_ptr<connection> via;      // the request's connection (deferred values come on it)
  // Work left: top-level values to pull or to take from a table entry; table entries to pull
  // or to await from the sending node.
  std::vector<std::pair<std::size_t, detail::wire_reference>> pulls;
  std::vector<std::pair<std::size_t, std::uint32_t>> from_table;
  std::vector<std::pair<std::uint32_t, detail::wire_reference>> table_pulls;
  std::vector<std::pair<std::uint32_t, detail::wire_deferred>> table_resolves;
  /// Called once everything is here, with the first error of a top-level value (or null).
  std::function<void(std::exception_ptr)> done;

  /// True when nothing has to be pulled or resolved (the values are all in the request).
  bool complete() const noexcept {
    return pulls.empty() && from_table.empty() && table_pulls.empty() && table_resolves.empty();
  }
  /// Counts one piece of work started.
  void expect() noexcept { missing_.fetch_add(1, std::memory_order_relaxed); }
  /// One piece of work ended; the last one fills the top-level values taken from the table and
  /// calls done.
  void arrived() noexcept;
  /// Records the first error of a top-level value.
  void fail(std::exception_ptr e) noexcept;
  /// Keeps `owner` (what a top-level value's bytes point into) alive with the arguments.
  void keep(std::shared_ptr<const void> owner);

 private:
  std::atomic<int> missing_{1};  // the gathering itself holds one until it has started all
  std::mutex mutex_;
  std::exception_ptr error_;
};

/// The bytes of a value entry's pieces, copied.
std::string copy_pieces(std::span<const std::span<const std::byte>> pieces);

/// The ready value of a ref (`state`, encoded by `encode`) as one argument entry; throws when
/// it holds refs or actor handles itself, which cannot travel (`what`: the ref, as the error
/// names it).
std::shared_ptr<detail::wire_value> encode_ready_ref(detail::state_base& state,
                                                     detail::ref_value_encoder encode,
                                                     const char* what);

/// The arguments of a request when all of them are values in it (the common case: nothing to
/// pull or resolve, no handles), kept alive by the request's buffer; else null.
std::shared_ptr<detail::arrived_arguments> plain_arguments(
    std::shared_ptr<wire::byte_buffer> request, const std::vector<detail::wire_entry>& entries);

}  // namespace weft::cluster
