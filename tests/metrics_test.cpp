// weft/metrics.hpp: application metrics, and runtime::metrics_text() in the Prometheus format.
#include "weft/metrics.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/prometheus_parser.hpp"
#include "weft/errors.hpp"
#include "weft/runtime.hpp"

namespace {

template <class F>
std::string error_of(F&& fn) {
  try {
    fn();
  } catch (const weft::error& e) {
    return e.what();
  }
  return "no weft::error";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

int plus_one(int x) {
  return x + 1;
}

int fails(int) {
  throw std::runtime_error("no");
}

}  // namespace

TEST_CASE("counters, gauges and histograms keep their values per label set") {
  weft::metrics::counter requests("test_requests_total", "Requests served.", {"route"});
  requests.inc(1, {"/a"});
  requests.inc(2.5, {"/a"});
  requests.inc(1, {"/b"});
  CHECK(requests.value({"/a"}) == 3.5);
  CHECK(requests.value({"/b"}) == 1);
  CHECK(requests.value({"/never"}) == 0);

  weft::metrics::gauge depth("test_queue_depth", "Items queued.");
  depth.set(10);
  depth.add(-3);
  CHECK(depth.value() == 7);

  weft::metrics::histogram latency("test_latency_seconds", "Latency.", {0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 5.0, 50.0})
    latency.observe(v);
  CHECK(latency.count() == 5);
  CHECK(latency.sum() == doctest::Approx(55.65));

  const auto families = weft_test::parse_prometheus(weft::metrics::prometheus_text());
  const auto& r = families.at("test_requests_total");
  CHECK(r.type == "counter");
  CHECK(r.help == "Requests served.");
  CHECK(r.value("test_requests_total", {{"route", "/a"}}) == 3.5);
  CHECK(families.at("test_queue_depth").value("test_queue_depth") == 7);
  const auto& h = families.at("test_latency_seconds");
  CHECK(h.type == "histogram");
  // Buckets are cumulative, and a value on a bound counts in that bound's bucket.
  CHECK(h.value("test_latency_seconds_bucket", {{"le", "0.1"}}) == 2);
  CHECK(h.value("test_latency_seconds_bucket", {{"le", "1"}}) == 3);
  CHECK(h.value("test_latency_seconds_bucket", {{"le", "10"}}) == 4);
  CHECK(h.value("test_latency_seconds_bucket", {{"le", "+Inf"}}) == 5);
  CHECK(h.value("test_latency_seconds_count") == 5);
  CHECK(h.value("test_latency_seconds_sum") == doctest::Approx(55.65));
}

TEST_CASE("label values and help text are escaped, and read back as they were") {
  const std::string odd = "a \"quoted\" back\\slash\nand a newline";
  weft::metrics::counter c("test_escaped_total", "Help with a \\ and a\nnewline.", {"what"});
  c.inc(1, {odd});
  const auto families = weft_test::parse_prometheus(weft::metrics::prometheus_text());
  const auto& f = families.at("test_escaped_total");
  CHECK(f.help == "Help with a \\\\ and a\\nnewline.");  // as written, escapes intact
  CHECK(f.value("test_escaped_total", {{"what", odd}}) == 1);
}

TEST_CASE("misuse is refused, naming the metric and the value") {
  CHECK(contains(error_of([] { weft::metrics::counter("9lives", "x"); }),
                 "'9lives' cannot name a metric"));
  CHECK(contains(error_of([] { weft::metrics::counter("test_ok_total", "x", {"__reserved"}); }),
                 "'__reserved' cannot name a label of metric 'test_ok_total'"));
  CHECK(contains(error_of([] { weft::metrics::histogram("test_h", "x", {1}, {"le"}); }),
                 "'le' is reserved"));
  CHECK(contains(error_of([] {
                   weft::metrics::histogram("test_h2", "x", {2, 1});
                 }),
                 "bucket bounds [2, 1]"));
  CHECK(contains(error_of([] { weft::metrics::histogram("test_h3", "x", {}); }),
                 "give at least one"));

  weft::metrics::counter c("test_misuse_total", "x", {"a", "b"});
  CHECK(contains(error_of([&] { c.inc(1, {"only-one"}); }),
                 "was given 1 label values ([only-one]); it takes one per label name"));
  CHECK(contains(error_of([&] { c.inc(-1, {"x", "y"}); }), "a counter only goes up"));
  // The same definition again is the same metric; a different one clashes.
  weft::metrics::counter again("test_misuse_total", "x", {"a", "b"});
  again.inc(2, {"x", "y"});
  CHECK(c.value({"x", "y"}) == 2);
  CHECK(contains(error_of([] {
                   weft::metrics::gauge("test_misuse_total", "x", {"a", "b"});
                 }),
                 "clashes with counter 'test_misuse_total'"));
}

TEST_CASE("updates from many threads are all counted") {
  weft::metrics::counter hits("test_threaded_total", "Hits.");
  weft::metrics::histogram sizes("test_threaded_sizes", "Sizes.", {10, 100});
  constexpr int threads = 8, per_thread = 50'000;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        hits.inc();
        sizes.observe(t * 20);  // 0, 20, ..., 140
      }
    });
  }
  for (auto& t : pool)
    t.join();
  CHECK(hits.value() == threads * per_thread);
  CHECK(sizes.count() == threads * per_thread);
  const auto f =
      weft_test::parse_prometheus(weft::metrics::prometheus_text()).at("test_threaded_sizes");
  CHECK(f.value("test_threaded_sizes_bucket", {{"le", "10"}}) == per_thread);       // t = 0
  CHECK(f.value("test_threaded_sizes_bucket", {{"le", "100"}}) == 6 * per_thread);  // t <= 5
}

TEST_CASE("runtime::metrics_text counts the tasks that ran, the arena and the resources") {
  weft::config cfg;
  cfg.threads = 2;
  cfg.resources = {{"gpu", 2}};
  weft::runtime rt(cfg);
  CHECK(rt.metrics_port() == 0);  // nothing served unless asked
  std::vector<weft::ref<int>> ok, bad;
  for (int i = 0; i < 90; ++i)
    ok.push_back(rt.submit(plus_one, i));
  for (int i = 0; i < 10; ++i)
    bad.push_back(rt.submit(fails, i));
  for (auto& r : ok)
    (void)r.get();
  for (auto& r : bad)
    CHECK_THROWS(r.get());
  auto object = rt.put(std::string(1000, 'x'));
  weft::metrics::counter mine("test_runtime_user_total", "An application counter.");
  mine.inc(4);

  const auto families = weft_test::parse_prometheus(rt.metrics_text());
  CHECK(families.at("weft_tasks_submitted_total").value("weft_tasks_submitted_total") == 100);
  CHECK(families.at("weft_tasks_completed_total").value("weft_tasks_completed_total") == 90);
  CHECK(families.at("weft_tasks_failed_total").value("weft_tasks_failed_total") == 10);
  CHECK(families.at("weft_tasks_live").type == "gauge");
  CHECK(families.at("weft_threads").value("weft_threads") == 2);
  CHECK(families.at("weft_arena_objects").value("weft_arena_objects") >= 1);
  CHECK(families.at("weft_arena_bytes_in_memory").value("weft_arena_bytes_in_memory") >= 1000);
  CHECK(families.at("weft_resource_total").value("weft_resource_total", {{"resource", "gpu"}}) ==
        2);
  CHECK(families.at("weft_resource_available")
            .value("weft_resource_available", {{"resource", "gpu"}}) == 2);
  CHECK(families.at("test_runtime_user_total").value("test_runtime_user_total") == 4);
  CHECK(families.count("weft_link_bytes_sent_total") == 0);  // in-process: no links
}
