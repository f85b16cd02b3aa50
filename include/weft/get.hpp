#pragma once
/// \file
/// weft::get(refs): the values of many refs at once, as Ray's `ray.get(list)` gives them.

#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/ref.hpp"

namespace weft {

/// Waits for every ref in `refs` and returns their values, in input order (copies; a ref's
/// value stays readable through the ref). Rethrows the error of the first ref, in input order,
/// that failed, once the refs before it are complete. Throws weft::error for an empty ref.
template <class T>
requires(!std::is_void_v<T> &&
         std::is_copy_constructible_v<T>) std::vector<T> get(const std::vector<ref<T>>& refs) {
  std::vector<T> values;
  values.reserve(refs.size());
  for (const ref<T>& r : refs)
    values.push_back(r.get());
  return values;
}

/// Like get(const std::vector<ref<T>>&), but moves each value out when no other ref shares it
/// (the refs are consumed).
template <class T>
requires(!std::is_void_v<T> &&
         std::is_copy_constructible_v<T>) std::vector<T> get(std::vector<ref<T>>&& refs) {
  std::vector<T> values;
  values.reserve(refs.size());
  for (ref<T>& r : refs)
    values.push_back(std::move(r).get());
  return values;
}

/// Waits for every ref in `refs`; rethrows the error of the first one, in input order, that
/// failed.
inline void get(const std::vector<ref<void>>& refs) {
  for (const ref<void>& r : refs)
    r.get();
}

}  // namespace weft
