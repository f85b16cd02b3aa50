#pragma once
/// \file
/// weft::task_options: per-submission settings (retries, resources, name).

#include <exception>
#include <functional>
#include <string>

#include "weft/config.hpp"

namespace weft {

/// Options for one task, passed as the first argument of `runtime::submit`.
struct task_options {
  /// How many more times to run the task after its callable throws (0 = run once). Only
  /// exceptions accepted by `retry_on` are retried. Must not be negative.
  int retries = 0;

  /// Decides whether a thrown exception is worth a retry; empty means "retry any exception".
  std::function<bool(std::exception_ptr)> retry_on{};

  /// A name shown in error messages (and traces later); empty means "unnamed".
  std::string name{};

  /// Units of named runtime resources the task holds while it runs, e.g. `{{"gpu", 1}}`. The
  /// task waits (without a thread) until they are free. Each amount must be positive and at
  /// most the runtime's capacity, else `submit` throws.
  resource_map resources{};
};

}  // namespace weft
