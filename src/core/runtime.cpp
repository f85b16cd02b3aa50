// weft::runtime, a thin owner of a runtime_core, and the process-wide default runtime.

#include "weft/runtime.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <mutex>

#include <fmt/core.h>

#include "cluster_hook.hpp"
#include "config_difference.hpp"
#include "log.hpp"
#include "runtime_core.hpp"
#include "weft/detail/actor_base.hpp"
#include "weft/errors.hpp"

namespace weft {

namespace {

// Starts the metrics endpoint config::metrics_port asks for (a head's by default). A head's
// default port being taken is logged, not fatal: it is a convenience, not an order.
void start_metrics(detail::runtime_core& core, const config& cfg) {
  const bool head = cfg.cluster.role == node_role::head;
  if (!cfg.metrics_port && !head) return;
  detail::metrics_endpoint_settings s;
  s.port = cfg.metrics_port.value_or(default_head_metrics_port);
  s.token = cfg.cluster.token;
  if (const detail::task_router* router = core.router()) {
    s.host = router->listen_host();
    s.token = router->cluster_token();
  }
  try {
    core.set_metrics_endpoint(detail::start_metrics_endpoint(core, s));
  } catch (const config_error& e) {
    if (cfg.metrics_port) throw;
    detail::log(detail::log_level::warn,
                "{}; this head serves no metrics (set WEFT_METRICS_PORT to a free port, or 0)",
                e.what());
  }
}

}  // namespace

runtime::runtime(const config& cfg) : core_(new detail::runtime_core(cfg)) {
  try {
    if (cfg.cluster.enabled()) core_->set_router(make_cluster_node(*core_, cfg.cluster));
    start_metrics(*core_, cfg);
  } catch (...) {
    core_->shutdown();
    core_->release();
    throw;
  }
  if (!cfg.cluster.enabled()) return;
  const node_role role = cfg.cluster.role;
  if ((role == node_role::worker || role == node_role::head) && cfg.cluster.serve_on_start) {
    int status = 0;
    try {
      serve();
    } catch (const std::exception& e) {
      detail::log(detail::log_level::error, "{}", e.what());
      status = 1;
    }
    shutdown();
    std::exit(status);
  }
}

std::string runtime::metrics_text() const {
  return core_->metrics_text();
}

unsigned runtime::metrics_port() const noexcept {
  return core_->metrics_port();
}

void runtime::serve() {
  const node_role role = core_->settings().cluster.role;
  if (!core_->router() || (role != node_role::worker && role != node_role::head)) {
    throw error(
        fmt::format("runtime::serve() needs a worker or head runtime (set WEFT_ROLE=worker and "
                    "WEFT_ADDRESS); this one is {}",
                    core_->router() ? "a driver" : "in-process"));
  }
  serve_cluster(*core_->router());
}

std::string runtime::node_id() const {
  return core_->router() ? core_->router()->node_id() : std::string();
}

std::vector<node_status> runtime::nodes() const {
  if (core_->router()) return core_->router()->nodes();
  node_status self;
  self.role = node_role::automatic;  // in-process only
  self.resources = core_->resource_capacity();
  self.available = core_->spare_resources();
  self.load = core_->live_tasks();
  self.pid = static_cast<std::int64_t>(::getpid());
  return {self};
}

resource_map runtime::cluster_resources() const {
  resource_map total;
  for (const node_status& n : nodes())
    for (const auto& [name, count] : n.resources)
      total[name] += count;
  return total;
}

resource_map runtime::available_resources() const {
  resource_map total;
  for (const node_status& n : nodes())
    for (const auto& [name, count] : n.available)
      total[name] += std::max<std::int64_t>(count, 0);
  return total;
}

arena_stats current_arena_stats() noexcept {
  detail::runtime_core* core = detail::current_core();
  return core ? detail::arena_stats_of(core) : arena_stats{};
}

std::string current_node_id() {
  detail::runtime_core* core = detail::current_core();
  return core && core->router() ? core->router()->node_id() : std::string();
}

runtime::~runtime() {
  try {
    core_->shutdown();
  } catch (const std::exception& e) {
    detail::log(detail::log_level::error, "runtime destroyed without a clean shutdown: {}",
                e.what());
  }
  core_->release();
}

void runtime::shutdown() {
  core_->shutdown();
}
bool runtime::is_shut_down() const noexcept {
  return core_->stopping();
}
unsigned runtime::threads() const noexcept {
  return core_->threads();
}
const config& runtime::settings() const noexcept {
  return core_->settings();
}
runtime_stats runtime::stats() const noexcept {
  return core_->stats();
}

namespace detail {
void kill_actor(runtime_core* core, actor_base* actor) {
  if (actor->core() != core) {
    throw error(fmt::format("runtime::kill: {} belongs to another runtime", actor->describe()));
  }
  actor->kill("killed by runtime::kill", false);
}
}  // namespace detail

namespace {
std::mutex default_mutex;
std::unique_ptr<runtime>& default_slot() {
  static std::unique_ptr<runtime> slot;
  return slot;
}
}  // namespace

runtime& init(const config& cfg) {
  std::lock_guard lock(default_mutex);
  auto& slot = default_slot();
  if (!slot) {
    slot = std::make_unique<runtime>(cfg);
    return *slot;
  }
  if (auto difference = detail::first_difference(slot->settings(), cfg)) {
    throw config_error(fmt::format(
        "weft::init: the default runtime already exists with other settings ({}); call "
        "weft::init() without a config to share it as it is, or check weft::is_initialized() "
        "first",
        *difference));
  }
  return *slot;
}

runtime& init() {
  {
    std::lock_guard lock(default_mutex);
    if (default_slot()) return *default_slot();
  }
  return init(config::from_env());
}

bool is_initialized() noexcept {
  std::lock_guard lock(default_mutex);
  return static_cast<bool>(default_slot());
}

runtime& default_runtime() {
  return init();
}

}  // namespace weft
