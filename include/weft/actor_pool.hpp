#pragma once
/// \file
/// weft::actor_pool<T>: N actors of one type behind one front, each call sent to an idle or
/// the least-loaded member.

#include <atomic>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/actor.hpp"
#include "weft/errors.hpp"
#include "weft/options.hpp"
#include "weft/runtime.hpp"

namespace weft {

namespace detail {
/// Throws weft::error for a pool of zero actors.
[[noreturn]] void throw_empty_pool();
}  // namespace detail

/// A fixed set of actors of type T, e.g. 10 verifiers serving a batch of requests. Each
/// member is spawned from the same constructor arguments. Calls go to an idle member if there
/// is one, else to the one with the fewest queued and running calls; ordering holds per member
/// only. Thread safe: submit and map may be called from any thread.
template <class T>
class actor_pool {
 public:
  /// Spawns `size` (at least 1) unnamed actors of type T from `args` on `rt`.
  template <class... A>
  actor_pool(runtime& rt, std::size_t size, const A&... args)
      : actor_pool(rt, size, actor_options{}, args...) {}

  /// Like the above with options for every member; a non-empty `options.name` names the
  /// members `name-0`, `name-1`, ...
  template <class... A>
  actor_pool(runtime& rt, std::size_t size, const actor_options& options, const A&... args) {
    if (size == 0) detail::throw_empty_pool();
    members_.reserve(size);
    for (std::size_t i = 0; i < size; ++i) {
      actor_options member = options;
      if (!options.name.empty()) member.name = options.name + "-" + std::to_string(i);
      members_.push_back(rt.spawn<T>(member, args...));
    }
  }

  actor_pool(const actor_pool&) = delete;
  actor_pool& operator=(const actor_pool&) = delete;
  /// Takes over `o`'s members.
  actor_pool(actor_pool&& o) noexcept
      : members_(std::move(o.members_)), cursor_(o.cursor_.load(std::memory_order_relaxed)) {}

  /// Calls `method(args...)` on an idle or the least-loaded member and returns its ref.
  template <class M, class... A>
  auto submit(M&& method, A&&... args) const {
    return pick().call(std::forward<M>(method), std::forward<A>(args)...);
  }

  /// Calls `method(input)` for each element of `inputs` (each on the member picked at that
  /// moment) and returns the refs in input order.
  template <class M, class Range>
  auto map(M method, const Range& inputs) const {
    using result = decltype(submit(method, *std::begin(inputs)));
    std::vector<result> out;
    if constexpr (requires { inputs.size(); }) out.reserve(inputs.size());
    for (const auto& input : inputs)
      out.push_back(submit(method, input));
    return out;
  }

  /// The members, in spawn order.
  const std::vector<actor<T>>& members() const noexcept { return members_; }
  /// Number of members.
  std::size_t size() const noexcept { return members_.size(); }

 private:
  // Scans from a rotating start so that ties (e.g. all idle) spread over every member.
  const actor<T>& pick() const {
    const std::size_t n = members_.size();
    const std::size_t start = cursor_.fetch_add(1, std::memory_order_relaxed) % n;
    std::size_t best = start;
    std::size_t best_load = members_[start].pending_calls();
    for (std::size_t k = 1; k < n && best_load != 0; ++k) {
      std::size_t i = (start + k) % n;
      std::size_t load = members_[i].pending_calls();
      if (load < best_load) {
        best = i;
        best_load = load;
      }
    }
    return members_[best];
  }

  std::vector<actor<T>> members_;
  mutable std::atomic<std::size_t> cursor_{0};
};

}  // namespace weft
