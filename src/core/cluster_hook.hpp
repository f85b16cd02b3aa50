#pragma once
// How the public runtime reaches the cluster layer without the core depending on it: the
// cluster layer (src/cluster) defines these functions; a build without it
// (WEFT_WITH_CLUSTER=OFF) defines them to refuse cluster settings.

#include <memory>

#include "metrics_endpoint.hpp"
#include "task_router.hpp"
#include "weft/cluster_settings.hpp"

namespace weft::detail {

class runtime_core;

/// Starts `core`'s node in the cluster `settings` describe; throws as cluster::node's
/// constructor does, or config_error when weft was built without cluster support.
std::unique_ptr<task_router> make_cluster_node(runtime_core& core,
                                               const cluster_settings& settings);

/// Runs `router`'s node until the cluster stops it (runtime::serve).
void serve_cluster(task_router& router);

/// Starts serving `core`'s metrics over HTTP as `settings` say; throws config_error when the
/// port cannot be listened on, or when weft was built without the cluster layer (which holds
/// the HTTP code).
std::unique_ptr<metrics_endpoint> start_metrics_endpoint(runtime_core& core,
                                                         const metrics_endpoint_settings& settings);

}  // namespace weft::detail
