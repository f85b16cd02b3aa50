#pragma once
// Test helper: the configuration of one runtime of an in-process cluster (a head, workers and
// drivers as runtimes of one test process, talking over 127.0.0.1).

#include <chrono>
#include <string>

#include "weft/config.hpp"

namespace weft_test {

/// A runtime of `role` in the cluster whose head is at `address`: 2 threads, constructed
/// without serving (serve_on_start false), fast heartbeats, and every registered task or
/// actor sent to a worker unless `offload_threshold` says otherwise.
inline weft::config cluster_member(
    weft::node_role role, const std::string& address, int offload_threshold = 0,
    std::chrono::milliseconds heartbeat_timeout = std::chrono::milliseconds(3000)) {
  weft::config cfg;
  cfg.threads = 2;
  cfg.cluster.role = role;
  cfg.cluster.address = address;
  cfg.cluster.serve_on_start = false;
  cfg.cluster.offload_threshold = offload_threshold;
  cfg.cluster.heartbeat_interval = std::chrono::milliseconds(50);
  cfg.cluster.heartbeat_timeout = heartbeat_timeout;
  return cfg;
}

}  // namespace weft_test
