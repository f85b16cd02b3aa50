// The metrics endpoint (src/core/metrics_endpoint.hpp) on the cluster layer's HTTP server:
// `GET /metrics` answers runtime_core::metrics_text() in the Prometheus text format.

#include "core/cluster_hook.hpp"
#include "core/log.hpp"
#include "core/runtime_core.hpp"
#include "http_server.hpp"

namespace weft::detail {

namespace {

class metrics_http final : public metrics_endpoint {
 public:
  metrics_http(runtime_core& core, const metrics_endpoint_settings& s)
      : server_(s.host, s.port, s.token, [&core](const std::string& target) {
          const std::string path = target.substr(0, target.find('?'));
          if (path == "/metrics") {
            return cluster::http_answer{200, "text/plain; version=0.0.4; charset=utf-8",
                                        core.metrics_text()};
          }
          return cluster::http_answer{
              404, "text/plain; charset=utf-8",
              "nothing is served at '" + path + "'; the metrics are at /metrics\n"};
        }) {
    log(log_level::info, "serving metrics on http://{}:{}/metrics{}",
        s.host.find(':') == std::string::npos ? s.host : "[" + s.host + "]", server_.port(),
        s.token.empty() ? "" : " (requests need the cluster token)");
  }
  unsigned port() const noexcept override { return server_.port(); }
  void stop() noexcept override { server_.stop(); }

 private:
  cluster::http_server server_;
};

}  // namespace

std::unique_ptr<metrics_endpoint> start_metrics_endpoint(runtime_core& core,
                                                         const metrics_endpoint_settings& s) {
  return std::make_unique<metrics_http>(core, s);
}

}  // namespace weft::detail
