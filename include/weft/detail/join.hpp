#pragma once
/// \file
/// Building blocks of when_all/when_any: a state that remembers which runtime runs its
/// continuations, and a join that fires once enough input states are ready.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "weft/detail/core_api.hpp"
#include "weft/detail/state.hpp"

namespace weft::detail {

/// A state completed by weft's own code whose `then` runs on `home` (may be null).
template <class T>
class homed_state final : public state<T> {
 public:
  explicit homed_state(runtime_core* home) noexcept : home_(home) {
    if (home_) retain_core(home_);
  }
  ~homed_state() override {
    if (home_) release_core(home_);
  }
  runtime_core* home() const noexcept override { return home_; }

 private:
  runtime_core* home_;
};

/// Calls `done(index)` once `needed` of `inputs` are ready (`index`: the input that completed
/// the count), then frees itself after every input has fired. Never blocks.
template <class Done>
class join final {
 public:
  /// Starts watching `inputs`; `needed` must be between 1 and inputs.size().
  static void start(const std::vector<state_base*>& inputs, std::size_t needed, Done done) {
    auto* j = new join(inputs.size(), needed, std::move(done));
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      j->links_[i].owner_ = j;
      j->links_[i].index_ = i;
    }
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (!inputs[i]->subscribe(&j->links_[i])) j->arrive(i);
    }
  }

 private:
  struct link final : continuation {
    join* owner_ = nullptr;
    std::size_t index_ = 0;
    void on_ready() noexcept override { owner_->arrive(index_); }
  };

  join(std::size_t inputs, std::size_t needed, Done done)
      : needed_(static_cast<std::int64_t>(needed)),
        unfired_(inputs),
        done_(std::move(done)),
        links_(inputs) {}

  void arrive(std::size_t index) noexcept {
    if (needed_.fetch_sub(1, std::memory_order_acq_rel) == 1) done_(index);
    if (unfired_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  std::atomic<std::int64_t> needed_;
  std::atomic<std::size_t> unfired_;
  Done done_;
  std::vector<link> links_;
};

}  // namespace weft::detail
