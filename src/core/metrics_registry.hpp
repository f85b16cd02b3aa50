#pragma once
// The process's registry of application metrics (weft/metrics.hpp), read as a snapshot.

#include "metric_snapshot.hpp"

namespace weft::detail {

/// Every application metric registered in this process, with its current series.
metric_snapshot application_metrics();

}  // namespace weft::detail
