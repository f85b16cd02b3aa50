// The metrics endpoint (WEFT_METRICS_PORT): what GET /metrics answers in-process and from a
// cluster of real processes, parsed by a strict Prometheus parser; the token's check; limits.

#include <doctest/doctest.h>

#include <signal.h>
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include <regex>
#include <set>
#include <string>
#include <thread>

#include "cluster/local_cluster.hpp"
#include "support/http_get.hpp"
#include "support/prometheus_parser.hpp"
#include "weft/cluster_settings.hpp"
#include "weft/errors.hpp"
#include "weft/metrics.hpp"
#include "weft/runtime.hpp"

namespace {

using namespace std::chrono_literals;
using boost::beast::http::verb;
using weft_test::http_request;
using weft_test::local_cluster;
using weft_test::parse_prometheus;

int twice(int x) {
  return 2 * x;
}

// The port a process logged "serving metrics on http://127.0.0.1:PORT/metrics" for (0 if not
// yet).
unsigned logged_metrics_port(const std::string& log) {
  static const std::regex line(R"(serving metrics on http://127\.0\.0\.1:(\d+)/metrics)");
  std::smatch m;
  return std::regex_search(log, m, line) ? static_cast<unsigned>(std::stoul(m[1])) : 0;
}

// Scrapes until `ready(families)` holds (at most 20 s); the last scrape's families.
template <class Ready>
weft_test::prom_families scrape_until(unsigned port, const std::string& auth, Ready ready) {
  weft_test::prom_families families;
  for (int i = 0; i < 200; ++i) {
    const auto reply = http_request(port, "/metrics", auth);
    REQUIRE(reply.status == 200);
    families = parse_prometheus(reply.body);
    if (ready(families)) return families;
    std::this_thread::sleep_for(100ms);
  }
  FAIL("the scraped metrics did not reach the expected state within 20 s");
  return families;
}

}  // namespace

TEST_CASE("an in-process runtime serves /metrics when asked, in the Prometheus text format") {
  weft::config cfg;
  cfg.threads = 2;
  cfg.metrics_port = 0;
  weft::runtime rt(cfg);
  const unsigned port = rt.metrics_port();
  REQUIRE(port != 0);
  for (int i = 0; i < 25; ++i)
    CHECK(rt.submit(twice, i).get() == 2 * i);
  weft::metrics::gauge("test_endpoint_gauge", "Set by the test.").set(42);

  const auto reply = http_request(port, "/metrics");
  CHECK(reply.status == 200);
  CHECK(reply.content_type == "text/plain; version=0.0.4; charset=utf-8");
  const auto families = parse_prometheus(reply.body);
  CHECK(families.at("weft_tasks_completed_total").value("weft_tasks_completed_total") == 25);
  CHECK(families.at("test_endpoint_gauge").value("test_endpoint_gauge") == 42);
  CHECK(http_request(port, "/metrics?x=1").status == 200);

  const auto missing = http_request(port, "/nothing-here");
  CHECK(missing.status == 404);
  CHECK(weft_test::contains(missing.body, "nothing is served at '/nothing-here'"));
  const auto head = http_request(port, "/metrics", "", verb::head);
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(http_request(port, "/metrics", "", verb::post).status == 405);
  CHECK(http_request(port, "/metrics", "", verb::get, 20'000).status == 431);

  rt.shutdown();
  CHECK_THROWS_AS(http_request(port, "/metrics"), std::runtime_error);  // no longer listening
}

TEST_CASE("with a token, the endpoint answers only requests that carry it") {
  weft::config cfg;
  cfg.threads = 1;
  cfg.metrics_port = 0;
  cfg.cluster.token = weft::generate_token();
  weft::runtime rt(cfg);
  const unsigned port = rt.metrics_port();
  const auto anonymous = http_request(port, "/metrics");
  CHECK(anonymous.status == 401);
  CHECK(anonymous.www_authenticate == "Bearer realm=\"weft\"");
  CHECK(weft_test::contains(anonymous.body, "Authorization: Bearer <token>"));
  CHECK_FALSE(weft_test::contains(anonymous.body, cfg.cluster.token));
  CHECK(http_request(port, "/metrics", "Bearer " + weft::generate_token()).status == 401);
  CHECK(http_request(port, "/metrics", cfg.cluster.token).status == 401);  // no scheme
  CHECK(http_request(port, "/metrics", "Bearer " + cfg.cluster.token).status == 200);
  CHECK(http_request(port, "/elsewhere").status == 401);  // the check comes before routing
}

TEST_CASE("a port that is taken is a config_error naming it") {
  weft::config first;
  first.threads = 1;
  first.metrics_port = 0;
  weft::runtime a(first);
  weft::config second = first;
  second.metrics_port = a.metrics_port();
  try {
    weft::runtime b(second);
    FAIL("a second endpoint on the same port started");
  } catch (const weft::config_error& e) {
    CHECK(weft_test::contains(
        e.what(), "cannot serve HTTP on 127.0.0.1:" + std::to_string(a.metrics_port())));
  }
}

TEST_CASE(
    "a cluster's nodes serve their links, heartbeats and refusals; the head needs the token") {
  const std::string token = weft::generate_token();
  const unsigned head_port = static_cast<unsigned>(weft_test::free_port());
  local_cluster cluster(WEFT_CLUSTER_NODE,
                        {{"WEFT_TOKEN", token}, {"WEFT_METRICS_PORT", std::to_string(head_port)}});
  // Every process gets the head's variables; the worker asks for a port of its own.
  weft_test::child_process& worker = cluster.add_worker("worker", {{"WEFT_METRICS_PORT", "0"}}, 2);
  const std::string auth = "Bearer " + token;

  CHECK(http_request(head_port, "/metrics").status == 401);
  const std::string worker_id = [&] {
    for (const auto& n : cluster.wait_for_nodes(2).nodes)
      if (n.role == weft::node_role::worker) return n.id;
    return std::string();
  }();
  REQUIRE_FALSE(worker_id.empty());

  // The head has read the worker's handshake and heartbeats over their link.
  auto head_metrics = scrape_until(head_port, auth, [&](const weft_test::prom_families& f) {
    auto it = f.find("weft_link_bytes_received_total");
    if (it == f.end()) return false;
    for (const auto& s : it->second.samples)
      if (s.labels.count("peer") && s.labels.at("peer") == worker_id && s.value > 0) return true;
    return false;
  });
  CHECK(head_metrics.at("weft_threads").value("weft_threads") == 2);
  CHECK(head_metrics.at("weft_cluster_nodes").value("weft_cluster_nodes") == 2);
  CHECK(head_metrics.at("weft_nodes_declared_dead_total").value("weft_nodes_declared_dead_total") ==
        0);

  // A connection with a wrong token is counted by cause.
  const double refused_before = head_metrics.at("weft_connections_refused_total")
                                    .value("weft_connections_refused_total", {{"cause", "token"}});
  weft::cluster_settings intruder = cluster.settings();
  intruder.token = weft::generate_token();
  CHECK_THROWS_AS(weft::query_cluster(intruder, 3s), weft::auth_error);
  scrape_until(head_port, auth, [&](const weft_test::prom_families& f) {
    return f.at("weft_connections_refused_total")
               .value("weft_connections_refused_total", {{"cause", "token"}}) > refused_before;
  });

  // The worker serves its own endpoint, with its heartbeats to the head.
  unsigned worker_port = 0;
  for (int i = 0; i < 100 && worker_port == 0; ++i) {
    worker_port = logged_metrics_port(worker.output());
    if (worker_port == 0) std::this_thread::sleep_for(100ms);
  }
  INFO(worker.output());
  REQUIRE(worker_port != 0);
  CHECK(worker_port != head_port);
  CHECK(http_request(worker_port, "/metrics").status == 401);
  scrape_until(worker_port, auth, [](const weft_test::prom_families& f) {
    return f.at("weft_heartbeats_sent_total").value("weft_heartbeats_sent_total") >= 2;
  });
}

TEST_CASE("a worker paused past the heartbeat timeout shows in the head's metrics") {
  const unsigned head_port = static_cast<unsigned>(weft_test::free_port());
  local_cluster cluster(WEFT_CLUSTER_NODE, {{"WEFT_METRICS_PORT", std::to_string(head_port)},
                                            {"WEFT_HEARTBEAT_MS", "100"},
                                            {"WEFT_HEARTBEAT_TIMEOUT_MS", "1000"}});
  weft_test::child_process& worker = cluster.add_worker("worker", {{"WEFT_METRICS_PORT", "0"}}, 2);
  worker.signal(SIGSTOP);
  const auto after = scrape_until(head_port, "", [](const weft_test::prom_families& f) {
    return f.at("weft_nodes_declared_dead_total").value("weft_nodes_declared_dead_total") == 1;
  });
  worker.signal(SIGCONT);
  CHECK(after.at("weft_cluster_nodes").value("weft_cluster_nodes") == 1);
  // Woken, the worker finds itself fenced and ends.
  CHECK(worker.wait_for(20s).has_value());
}

TEST_CASE("every metric the Grafana dashboard draws is served by a live head and worker") {
  // The dashboard is JSON Grafana can import, and each weft_* name in its queries must be a
  // family that the head or a worker serves.
  const std::string path = std::string(WEFT_SOURCE_DIR) + "/deploy/grafana/weft.json";
  boost::property_tree::ptree dashboard;
  REQUIRE_NOTHROW(boost::property_tree::read_json(path, dashboard));
  std::set<std::string> drawn;
  for (const auto& panel : dashboard.get_child("panels")) {
    for (const auto& target : panel.second.get_child("targets")) {
      const std::string expr = target.second.get<std::string>("expr");
      static const std::regex name(R"(weft_[a-z_]+)");
      for (auto it = std::sregex_iterator(expr.begin(), expr.end(), name);
           it != std::sregex_iterator(); ++it)
        drawn.insert(it->str());
    }
  }
  REQUIRE(drawn.size() >= 20);

  const unsigned head_port = static_cast<unsigned>(weft_test::free_port());
  local_cluster cluster(WEFT_CLUSTER_NODE, {{"WEFT_METRICS_PORT", std::to_string(head_port)}});
  cluster.add_worker("worker", {{"WEFT_METRICS_PORT", "0"}}, 2);
  const auto served = scrape_until(head_port, "", [](const weft_test::prom_families& f) {
    auto it = f.find("weft_link_bytes_sent_total");
    return it != f.end() && !it->second.samples.empty();
  });
  for (const std::string& name : drawn) {
    INFO("the dashboard draws ", name);
    CHECK(served.count(name) == 1);
  }
}
