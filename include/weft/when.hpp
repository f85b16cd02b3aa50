#pragma once
/// \file
/// weft::when_all and weft::when_any: refs that complete when all, or any, of a set of refs do.
/// They never block a thread and never copy the values.

#include <cstddef>
#include <functional>
#include <tuple>
#include <vector>

#include "weft/detail/join.hpp"
#include "weft/ref.hpp"

namespace weft {

namespace detail {
/// Throws weft::error: when_any needs at least one ref (or an input ref is empty).
[[noreturn]] void throw_bad_when_input(const char* what);

template <class T>
std::vector<state_base*> states_of(const std::vector<ref<T>>& refs, const char* what) {
  std::vector<state_base*> out;
  out.reserve(refs.size());
  for (const auto& r : refs) {
    if (!r.valid()) throw_bad_when_input(what);
    out.push_back(ref_access::state_of(r));
  }
  return out;
}
}  // namespace detail

/// A ref that completes once every ref in `refs` is complete (with a value or an error),
/// holding those same refs: errors stay in the individual refs, values are not copied.
/// An empty vector gives a ready ref. `then` on the result runs on the first input's runtime.
template <class T>
ref<std::vector<ref<T>>> when_all(std::vector<ref<T>> refs) {
  using V = std::vector<ref<T>>;
  auto inputs = detail::states_of(refs, "when_all: an input ref is empty");
  auto* out = new detail::homed_state<V>(inputs.empty() ? nullptr : inputs.front()->home());
  detail::state_ptr<detail::state<V>> result(out);
  if (inputs.empty()) {
    out->emplace_value();
    out->commit_value();
    return detail::ref_access::make(std::move(result));
  }
  auto keep = result;
  detail::join<std::function<void(std::size_t)>>::start(
      inputs, inputs.size(), [keep, refs = std::move(refs)](std::size_t) mutable {
        keep->emplace_value(std::move(refs));
        keep->commit_value();
        keep = {};
      });
  return detail::ref_access::make(std::move(result));
}

/// A ref that completes once every argument ref is complete, holding a tuple of those refs.
template <class... T>
ref<std::tuple<ref<T>...>> when_all(const ref<T>&... refs) {
  using V = std::tuple<ref<T>...>;
  std::vector<detail::state_base*> inputs;
  auto add = [&](const auto& r) {
    if (!r.valid()) detail::throw_bad_when_input("when_all: an input ref is empty");
    inputs.push_back(detail::ref_access::state_of(r));
  };
  (add(refs), ...);
  auto* out = new detail::homed_state<V>(inputs.empty() ? nullptr : inputs.front()->home());
  detail::state_ptr<detail::state<V>> result(out);
  if (inputs.empty()) {
    out->emplace_value();
    out->commit_value();
    return detail::ref_access::make(std::move(result));
  }
  auto keep = result;
  detail::join<std::function<void(std::size_t)>>::start(
      inputs, inputs.size(), [keep, tuple = V(refs...)](std::size_t) mutable {
        keep->emplace_value(std::move(tuple));
        keep->commit_value();
        keep = {};
      });
  return detail::ref_access::make(std::move(result));
}

/// A ref to the index (into `refs`) of the first ref to complete, with a value or an error.
/// Throws weft::error for an empty vector.
template <class T>
ref<std::size_t> when_any(const std::vector<ref<T>>& refs) {
  auto inputs = detail::states_of(refs, "when_any: an input ref is empty");
  if (inputs.empty()) detail::throw_bad_when_input("when_any: needs at least one ref");
  auto* out = new detail::homed_state<std::size_t>(inputs.front()->home());
  detail::state_ptr<detail::state<std::size_t>> result(out);
  auto keep = result;
  detail::join<std::function<void(std::size_t)>>::start(inputs, 1,
                                                        [keep](std::size_t index) mutable {
                                                          keep->emplace_value(index);
                                                          keep->commit_value();
                                                          keep = {};
                                                        });
  return detail::ref_access::make(std::move(result));
}

}  // namespace weft
