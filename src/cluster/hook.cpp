// The cluster layer's entry points for the runtime (src/core/cluster_hook.hpp).

#include "core/cluster_hook.hpp"
#include "node.hpp"

namespace weft::detail {

std::unique_ptr<task_router> make_cluster_node(runtime_core& core,
                                               const cluster_settings& settings) {
  return std::make_unique<cluster::node>(core, settings);
}

void serve_cluster(task_router& router) {
  static_cast<cluster::node&>(router).serve();
}

}  // namespace weft::detail
