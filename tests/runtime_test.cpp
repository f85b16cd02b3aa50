// weft/runtime.hpp: submit forms, cancel, wait, stats, the default runtime.
#include "weft/runtime.hpp"

#include <doctest/doctest.h>

#include "support/flag.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {
int add(int a, int b) {
  return a + b;
}
struct accumulator {
  int base;
  int plus(int x) const { return base + x; }
};
}  // namespace

TEST_CASE("threads = N gives an arena of N workers") {
  weft::runtime rt{weft::config{.threads = 3}};
  CHECK(rt.threads() == 3);
  // Three tasks that wait for each other can only finish if three run at once.
  std::atomic<int> arrived{0};
  std::vector<weft::ref<void>> refs;
  for (int i = 0; i < 3; ++i) {
    refs.push_back(rt.submit([&] {
      ++arrived;
      auto deadline = std::chrono::steady_clock::now() + 10s;
      while (arrived.load() < 3 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    }));
  }
  for (auto& r : refs)
    r.get();
  CHECK(arrived.load() == 3);
  weft::runtime deflt;
  CHECK(deflt.threads() >= 1);
}

TEST_CASE("submit accepts functions, lambdas, member pointers, void and move-only results") {
  weft::runtime rt;
  CHECK(rt.submit(add, 2, 3).get() == 5);
  CHECK(rt.submit(&accumulator::plus, accumulator{10}, 5).get() == 15);
  std::atomic<int> side{0};
  weft::ref<void> v = rt.submit([&] { side = 1; });
  v.get();
  CHECK(side.load() == 1);
  auto p = rt.submit([] { return std::make_unique<std::string>("owned"); });
  CHECK(*p.get() == "owned");
  auto consumes =
      rt.submit([](std::unique_ptr<int> q) { return *q + 1; }, std::make_unique<int>(1));
  CHECK(consumes.get() == 2);
}

TEST_CASE("a ref<void> argument is a pure ordering dependency") {
  weft::runtime rt;
  std::atomic<int> order{0};
  auto first = rt.submit([&] {
    std::this_thread::sleep_for(5ms);
    order = 1;
  });
  auto second = rt.submit([&](const weft::ref<void>&) { return order.load(); }, first);
  CHECK(second.get() == 1);
}

TEST_CASE("cancel before start fails the task and its dependents with cancelled_error") {
  weft::runtime rt{weft::config{.threads = 1}};
  std::atomic<bool> release{false};
  auto blocker = rt.submit([&] {
    weft_test::wait_for_flag(release);
    return 1;
  });
  std::atomic<bool> ran{false};
  auto victim = rt.submit(
      weft::task_options{.name = "victim"},
      [&](int x) {
        ran = true;
        return x;
      },
      blocker);
  auto dependent = rt.submit([](int x) { return x + 1; }, victim);
  CHECK(rt.cancel(victim));
  CHECK_FALSE(rt.cancel(victim));  // only once
  CHECK_THROWS_WITH_AS(victim.get(), "task 'victim' cancelled before it started",
                       weft::cancelled_error);
  release = true;  // the dependent needs the single worker to observe the failure
  CHECK_THROWS_AS(dependent.get(), weft::cancelled_error);
  CHECK(blocker.get() == 1);
  CHECK_FALSE(rt.cancel(blocker));  // already finished
  CHECK_FALSE(ran.load());
  while (rt.stats().live != 0)
    std::this_thread::sleep_for(1ms);
  CHECK(rt.stats().cancelled == 1);
}

TEST_CASE("wait returns the first num ready refs in input order and the rest pending") {
  weft::runtime rt{weft::config{.threads = 2}};
  // The even tasks depend on a gate completed by another runtime, so they hold no worker.
  weft::runtime gate_rt{weft::config{.threads = 1}};
  std::atomic<bool> release{false};
  auto gate = gate_rt.submit([&] { weft_test::wait_for_flag(release); });
  std::vector<weft::ref<int>> refs;
  for (int i = 0; i < 6; ++i) {
    if (i % 2 == 0)
      refs.push_back(rt.submit([i](const weft::ref<void>&) { return i; }, gate));
    else
      refs.push_back(rt.submit([i] { return i; }));
  }
  auto some = rt.wait(refs, 2, 10s);
  REQUIRE(some.ready.size() == 2);
  CHECK(some.pending.size() == 4);
  for (auto& r : some.ready)
    CHECK(r.get() % 2 == 1);

  auto timed_out = rt.wait(refs, 6, 20ms);  // the even ones are held back by the gate
  CHECK(timed_out.ready.size() == 3);
  CHECK(timed_out.pending.size() == 3);
  for (int i = 0; i < 3; ++i)
    CHECK(timed_out.ready[i] == refs[2 * i + 1]);
  release = true;
  auto all = rt.wait(refs);
  CHECK(all.ready.size() == 6);
  for (int i = 0; i < 6; ++i)
    CHECK(all.ready[i].get() == i);
}

TEST_CASE("wait rejects bad arguments") {
  weft::runtime rt;
  std::vector<weft::ref<int>> refs{rt.submit([] { return 1; })};
  CHECK_THROWS_WITH_AS(rt.wait(refs, 2, 1s), doctest::Contains("num = 2 but 1 refs were given"),
                       weft::error);
  CHECK_THROWS_AS(rt.wait(refs, 0, 1s), weft::error);
  CHECK_THROWS_WITH_AS(rt.wait(refs, 1, -1s), doctest::Contains("timeout is negative"),
                       weft::error);
  refs.push_back({});
  CHECK_THROWS_AS(rt.wait(refs, 1, 1s), weft::error);
}

TEST_CASE("timed waits inside a task suspend it and time out without blocking the pool") {
  weft::runtime rt{weft::config{.threads = 1}};
  std::atomic<bool> release{false};
  auto slow = rt.submit([&] {
    weft_test::wait_for_flag(release);
    return 1;
  });
  // With one worker busy in `slow`, this runs only after release; give it its own runtime.
  weft::runtime other{weft::config{.threads = 1}};
  auto waiter = other.submit([&] {
    bool timed_out = false;
    try {
      (void)slow.get_for(20ms);
    } catch (const weft::timeout_error&) {
      timed_out = true;
    }
    release = true;
    return timed_out && slow.get_for(10s) == 1;
  });
  CHECK(waiter.get());

  // 1 worker: a task waiting with a deadline must let its own child run meanwhile.
  auto parent = rt.submit([&rt] {
    auto child = rt.submit([] { return 7; });
    return child.get_for(10s);
  });
  CHECK(parent.get() == 7);
}

TEST_CASE("stats count submitted, completed, failed") {
  weft::runtime rt;
  rt.submit([] { return 1; }).get();
  auto bad = rt.submit([]() -> int { throw std::runtime_error("x"); });
  CHECK_THROWS(bad.get());
  while (rt.stats().live != 0)
    std::this_thread::sleep_for(1ms);
  auto s = rt.stats();
  CHECK(s.submitted == 2);
  CHECK(s.completed == 1);
  CHECK(s.failed == 1);
}

TEST_CASE("init is idempotent and default_runtime returns the same instance") {
  weft::runtime& a = weft::init(weft::config{.threads = 2, .namespace_ = "lib"});
  CHECK(weft::is_initialized());
  weft::runtime& b = weft::init(weft::config{.threads = 2, .namespace_ = "lib"});
  CHECK(&a == &b);
  CHECK(&weft::init() == &a);  // without a config: whatever exists
  CHECK(&weft::default_runtime() == &a);
  CHECK(a.threads() == 2);
  CHECK(a.submit([] { return 3; }).get() == 3);
}

TEST_CASE("init with other settings than the default runtime's is an error naming them") {
  weft::runtime& a = weft::init(weft::config{.threads = 2, .namespace_ = "lib"});
  CHECK_THROWS_WITH_AS(weft::init(weft::config{.threads = 2, .namespace_ = "other"}),
                       "weft::init: the default runtime already exists with other settings "
                       "(namespace_: 'lib' (the default runtime's) vs 'other' (asked for)); call "
                       "weft::init() without a config to share it as it is, or check "
                       "weft::is_initialized() first",
                       weft::config_error);
  CHECK_THROWS_WITH_AS(weft::init(weft::config{.threads = 5, .namespace_ = "lib"}),
                       doctest::Contains("(threads: 2 (the default runtime's) vs 5 (asked for))"),
                       weft::config_error);
  weft::config secret{.threads = 2, .namespace_ = "lib"};
  secret.cluster.token = "do-not-print-me";
  try {
    weft::init(secret);
    FAIL("a different token is a difference");
  } catch (const weft::config_error& e) {
    const std::string what = e.what();
    CHECK(what.find("cluster.token: another token (not shown)") != std::string::npos);
    CHECK(what.find("do-not-print-me") == std::string::npos);
  }
  CHECK(&weft::init() == &a);  // still there, unchanged
  CHECK(a.settings().namespace_ == "lib");
}

TEST_CASE("submit after shutdown, and shutdown from inside a task, are clear errors") {
  weft::runtime rt;
  auto inner = rt.submit([&rt] {
    try {
      rt.shutdown();
    } catch (const weft::error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  });
  CHECK(inner.get().find("would wait for itself") != std::string::npos);
  rt.shutdown();
  rt.shutdown();  // idempotent
  CHECK(rt.is_shut_down());
  CHECK_THROWS_WITH_AS(rt.submit([] {}), doctest::Contains("the runtime is shut down"),
                       weft::error);
}

namespace {
struct gpu_holder {
  int ping() const { return 1; }
};
}  // namespace

TEST_CASE("nodes, cluster_resources and available_resources in-process") {
  weft::runtime rt{weft::config{.threads = 2, .resources = {{"gpu", 2}, {"disk", 1}}}};
  const auto nodes = rt.nodes();
  REQUIRE(nodes.size() == 1);
  CHECK(nodes[0].id.empty());
  CHECK(nodes[0].role == weft::node_role::automatic);
  CHECK(rt.cluster_resources() == weft::resource_map{{"disk", 1}, {"gpu", 2}});
  CHECK(rt.available_resources() == weft::resource_map{{"disk", 1}, {"gpu", 2}});
  auto holder = rt.spawn<gpu_holder>(weft::actor_options{.resources = {{"gpu", 1}}});
  REQUIRE(holder.call(&gpu_holder::ping).get() == 1);  // constructed: it holds its gpu now
  CHECK(rt.available_resources() == weft::resource_map{{"disk", 1}, {"gpu", 1}});
  // A request waiting for what is held counts against what is available.
  auto second = rt.spawn<gpu_holder>(weft::actor_options{.resources = {{"gpu", 1}}});
  REQUIRE(second.call(&gpu_holder::ping).get() == 1);
  auto third = rt.spawn<gpu_holder>(weft::actor_options{.resources = {{"gpu", 1}}});
  auto third_ping = third.call(&gpu_holder::ping);
  CHECK(rt.available_resources() == weft::resource_map{{"disk", 1}, {"gpu", 0}});
  CHECK(rt.nodes()[0].available.at("gpu") == -1);  // one more asked for than is free
  rt.kill(holder);
  CHECK(third_ping.get_for(10s) == 1);
  CHECK(rt.cluster_resources().at("gpu") == 2);
}
