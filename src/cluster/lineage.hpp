#pragma once
// Lineage: for a large task result held on the worker that computed it, the call that made it
// (the request's bytes: kind, task header, arguments, all of them inline), kept by the caller
// so that the result can be rebuilt here by running the task again if that worker dies before
// the result is read. A recipe counts its bytes against the node's lineage budget
// (cluster_settings::lineage_bytes) while it lives, which is as long as a ref to the result.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "sent_calls.hpp"
#include "wire/frame.hpp"

namespace weft::detail {
class wire_value;
}

namespace weft::cluster {

/// The request that made a held result, kept to run it again.
class lineage_recipe {
 public:
  /// A recipe holding `request`, counted in `used` until it goes.
  lineage_recipe(std::shared_ptr<wire::byte_buffer> request,
                 std::shared_ptr<std::atomic<std::uint64_t>> used) noexcept;
  ~lineage_recipe();
  lineage_recipe(const lineage_recipe&) = delete;
  lineage_recipe& operator=(const lineage_recipe&) = delete;

  /// The request's payload, as a worker receives it.
  const std::shared_ptr<wire::byte_buffer>& request() const noexcept { return request_; }

 private:
  std::shared_ptr<wire::byte_buffer> request_;
  std::shared_ptr<std::atomic<std::uint64_t>> used_;
};

/// The lineage budget of one node: recipes are made while it has room.
class lineage_budget {
 public:
  /// A budget of `limit` bytes (0: keep no lineage).
  explicit lineage_budget(std::uint64_t limit) : limit_(limit) {}

  /// The recipe of call `call` (its request was `prefix` then `sent`), or null with `why_not`
  /// set: the budget is full, or the arguments did not all travel inline.
  std::shared_ptr<const lineage_recipe> keep(const sent_call& call, std::string& why_not);

 private:
  const std::uint64_t limit_;
  std::shared_ptr<std::atomic<std::uint64_t>> used_ =
      std::make_shared<std::atomic<std::uint64_t>>(0);
};

}  // namespace weft::cluster
