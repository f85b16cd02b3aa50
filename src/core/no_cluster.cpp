// The cluster entry points of a build without the cluster layer (WEFT_WITH_CLUSTER=OFF).

#include "cluster_hook.hpp"

#include <fmt/core.h>
#include "weft/errors.hpp"

namespace weft::detail {

std::unique_ptr<task_router> make_cluster_node(runtime_core&, const cluster_settings&) {
  throw config_error(
      "cluster settings are set (WEFT_ADDRESS or WEFT_ROLE), but this weft was built without "
      "cluster support; rebuild it with -DWEFT_WITH_CLUSTER=ON");
}

void serve_cluster(task_router&) {
  throw error("this weft was built without cluster support");
}

std::unique_ptr<metrics_endpoint> start_metrics_endpoint(runtime_core&,
                                                         const metrics_endpoint_settings& s) {
  throw config_error(fmt::format(
      "WEFT_METRICS_PORT is {}, but this weft was built without the cluster layer, which "
      "serves HTTP; rebuild it with -DWEFT_WITH_CLUSTER=ON or unset WEFT_METRICS_PORT",
      s.port));
}

}  // namespace weft::detail
