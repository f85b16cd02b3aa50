#pragma once
// The HTTP endpoint a runtime serves its metrics on (WEFT_METRICS_PORT), seen from the core:
// the cluster layer builds it with Boost.Beast (src/cluster/metrics_http.cpp).

#include <string>

namespace weft::detail {

class runtime_core;

/// A running HTTP endpoint; destroying it stops it.
class metrics_endpoint {
 public:
  virtual ~metrics_endpoint() = default;
  /// The port it listens on (the one asked for, or the one the system chose for 0).
  virtual unsigned port() const noexcept = 0;
  /// Stops accepting and closes every connection; waits for its thread. Idempotent.
  virtual void stop() noexcept = 0;
};

/// Where and how an endpoint serves.
struct metrics_endpoint_settings {
  std::string host = "127.0.0.1";  ///< The address to listen on.
  unsigned port = 0;               ///< 0 lets the system choose.
  std::string token;               ///< When set, requests must carry `Bearer <token>`.
};

}  // namespace weft::detail
