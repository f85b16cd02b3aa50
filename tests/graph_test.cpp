// Dependency graphs through weft/runtime.hpp: chains, diamonds, wide fan-out/fan-in, a chain of
// a million tasks, get() inside tasks on a tiny pool, graphs that grow while they run, and
// error propagation through every dependent.
#include "weft/runtime.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "weft/when.hpp"

namespace {
struct graph_error : std::logic_error {
  using std::logic_error::logic_error;
};

// fib through the graph: each call returns a ref that the task flattens.
weft::ref<std::uint64_t> fib(weft::runtime& rt, int n) {
  if (n < 2) return weft::make_ready_ref(static_cast<std::uint64_t>(n));
  return rt.submit([&rt, n] {
    auto a = fib(rt, n - 1);
    auto b = fib(rt, n - 2);
    return rt.submit([](std::uint64_t x, std::uint64_t y) { return x + y; }, a, b);
  });
}
}  // namespace

TEST_CASE("a chain passes each value to the next task") {
  weft::runtime rt;
  weft::ref<int> r = rt.submit([] { return 0; });
  for (int i = 0; i < 1000; ++i)
    r = rt.submit([](int x) { return x + 1; }, r);
  CHECK(r.get() == 1000);
}

TEST_CASE("a diamond runs the join once with both sides") {
  weft::runtime rt;
  std::atomic<int> joins{0};
  auto top = rt.submit([] { return 5; });
  auto l = rt.submit([](int x) { return x + 1; }, top);
  auto r = rt.submit([](int x) { return x * 2; }, top);
  auto j = rt.submit(
      [&](int a, int b) {
        ++joins;
        return a * 100 + b;
      },
      l, r);
  CHECK(j.get() == 610);
  CHECK(joins.load() == 1);
}

TEST_CASE("fan-out and fan-in of 100,000 tasks") {
  weft::runtime rt;
  auto source = rt.submit([] { return std::int64_t{3}; });
  std::vector<weft::ref<std::int64_t>> wide;
  wide.reserve(100000);
  for (std::int64_t i = 0; i < 100000; ++i) {
    wide.push_back(rt.submit([i](std::int64_t s) { return i * s; }, source));
  }
  auto total = weft::when_all(wide).then([](const std::vector<weft::ref<std::int64_t>>& rs) {
    std::int64_t sum = 0;
    for (const auto& r : rs)
      sum += r.get();
    return sum;
  });
  CHECK(total.get() == 3 * (std::int64_t{100000} * 99999 / 2));
}

TEST_CASE("a chain of 1,000,000 dependent tasks completes (no deep recursion)") {
  weft::runtime rt;
  weft::ref<std::int64_t> r = rt.submit([] { return std::int64_t{0}; });
  for (int i = 0; i < 1000000; ++i)
    r = rt.submit([](std::int64_t x) { return x + 1; }, r);
  CHECK(r.get() == 1000000);
}

TEST_CASE("get() inside tasks never deadlocks a 2-thread pool") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::vector<weft::ref<int>> parents;
  for (int i = 0; i < 1000; ++i) {
    parents.push_back(rt.submit([&rt, i] {
      auto child = rt.submit([i] { return i * 2; });
      return child.get() + 1;
    }));
  }
  long sum = 0;
  for (auto& p : parents)
    sum += p.get();
  CHECK(sum == 1000L * 999 + 1000);
}

TEST_CASE("nested get() three levels deep on one thread") {
  weft::runtime rt{weft::config{.threads = 1}};
  auto r = rt.submit([&rt] {
    return rt.submit([&rt] { return rt.submit([] { return 1; }).get() + 1; }).get() + 1;
  });
  CHECK(r.get() == 3);
}

TEST_CASE("a graph that grows while it runs: tasks returning refs are flattened") {
  weft::runtime rt{weft::config{.threads = 2}};
  CHECK(fib(rt, 20).get() == 6765);
}

TEST_CASE("an exception reaches every dependent with its type and message; none of them runs") {
  weft::runtime rt;
  std::atomic<int> ran{0};
  auto root = rt.submit([]() -> int { throw graph_error("root failed: disk full"); });
  auto a = rt.submit(
      [&](int x) {
        ++ran;
        return x;
      },
      root);
  auto b = rt.submit(
      [&](int x) {
        ++ran;
        return x;
      },
      a);
  auto ok = rt.submit([] { return 1; });
  auto c = rt.submit(
      [&](int x, int y) {
        ++ran;
        return x + y;
      },
      ok, b);
  auto d = a.then([&](int x) {
    ++ran;
    return x;
  });
  for (auto* r : {&root, &a, &b, &c, &d}) {
    CHECK_THROWS_WITH_AS(r->get(), "root failed: disk full", graph_error);
  }
  CHECK(ran.load() == 0);
  CHECK(ok.get() == 1);
}

TEST_CASE("a task failing after its dependencies succeeded fails only its own subgraph") {
  weft::runtime rt;
  auto in = rt.submit([] { return std::string("data"); });
  auto bad = rt.submit([](const std::string& s) -> int { throw graph_error("bad " + s); }, in);
  auto good = rt.submit([](const std::string& s) { return s.size(); }, in);
  CHECK_THROWS_WITH_AS(bad.get(), "bad data", graph_error);
  CHECK(good.get() == 4);
}
