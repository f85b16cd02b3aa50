#pragma once
/// \file
/// WEFT_REMOTE: names a function so that, in a cluster, its tasks may run in other processes.
/// In-process it costs nothing beyond one entry in a table built at start-up.

#include "weft/detail/remote_function.hpp"

#define WEFT_DETAIL_CONCAT2(a, b) a##b
#define WEFT_DETAIL_CONCAT(a, b) WEFT_DETAIL_CONCAT2(a, b)

/// Registers the plain function `fn` under the name `#fn` (write it the same way in every
/// program of a cluster: `WEFT_REMOTE(add)`, `WEFT_REMOTE(geo::area)`). Put it at namespace
/// scope in one source file, after the function. Its parameters and result must be
/// encodable: trivially copyable types (sent as their bytes: no pointers inside),
/// vectors/strings of those, or types with a cereal `serialize` function. A task
/// `rt.submit(fn, args...)` may then run on any node whose program registered the same name;
/// a task of an unregistered callable always runs where it was submitted.
#define WEFT_REMOTE(fn)                                                                         \
  [[maybe_unused]] static const bool WEFT_DETAIL_CONCAT(weft_remote_registered_, __COUNTER__) = \
      ::weft::detail::register_remote<&fn>(#fn)
