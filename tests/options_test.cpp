// weft/options.hpp: retries, retry_on, names and resource limits.
#include "weft/options.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

#include "support/flag.hpp"
#include "weft/runtime.hpp"

using namespace std::chrono_literals;

namespace {
struct transient : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct fatal : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace

TEST_CASE("retries run exactly as many attempts as asked") {
  weft::runtime rt;
  for (int retries : {0, 1, 3}) {
    std::atomic<int> attempts{0};
    auto r = rt.submit(weft::task_options{.retries = retries}, [&]() -> int {
      ++attempts;
      throw transient("always fails");
    });
    CHECK_THROWS_AS(r.get(), transient);
    CHECK(attempts.load() == retries + 1);
  }
  std::atomic<int> attempts{0};
  auto ok = rt.submit(weft::task_options{.retries = 5}, [&] {
    if (++attempts < 3) throw transient("not yet");
    return attempts.load();
  });
  CHECK(ok.get() == 3);
  CHECK(attempts.load() == 3);  // stops at the first success
  CHECK(rt.stats().retried == 0 + 1 + 3 + 2);
}

TEST_CASE("retry_on decides which exceptions are retried") {
  weft::runtime rt;
  auto only_transient = [](std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const transient&) {
      return true;
    } catch (...) {
      return false;
    }
  };
  std::atomic<int> attempts{0};
  auto r = rt.submit(weft::task_options{.retries = 10, .retry_on = only_transient}, [&]() -> int {
    int n = ++attempts;
    if (n < 3) throw transient("retry me");
    throw fatal("stop here");
  });
  CHECK_THROWS_WITH_AS(r.get(), "stop here", fatal);
  CHECK(attempts.load() == 3);
}

TEST_CASE("a negative retry count is refused at submit") {
  weft::runtime rt;
  CHECK_THROWS_WITH_AS(rt.submit(weft::task_options{.retries = -1, .name = "neg"}, [] {}),
                       "task 'neg': task_options::retries = -1 is negative; use 0 for none",
                       weft::error);
  CHECK_THROWS_WITH_AS(
      rt.submit(weft::task_options{.node_retries = -2, .name = "neg"}, [] {}),
      "task 'neg': task_options::node_retries = -2 is negative; use 0 to never resend it",
      weft::error);
  // In-process a node retry count changes nothing: the task runs once, here.
  CHECK(rt.submit(weft::task_options{.node_retries = 0}, [] { return 7; }).get() == 7);
  static_assert(std::is_base_of_v<weft::object_lost, weft::node_died>);
}

TEST_CASE("no more tasks than the capacity hold a resource at once, and all complete") {
  weft::runtime rt{weft::config{.threads = 4, .resources = {{"gpu", 2}}}};
  std::atomic<int> inside{0};
  std::atomic<int> peak{0};
  std::vector<weft::ref<int>> refs;
  for (int i = 0; i < 40; ++i) {
    refs.push_back(rt.submit(weft::task_options{.resources = {{"gpu", 1}}}, [&, i] {
      int now = ++inside;
      int seen = peak.load();
      while (now > seen && !peak.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(2ms);
      --inside;
      return i;
    }));
  }
  int sum = 0;
  for (auto& r : refs)
    sum += r.get();
  CHECK(sum == 40 * 39 / 2);
  CHECK(peak.load() <= 2);
  CHECK(peak.load() >= 1);
}

TEST_CASE("a task needing the whole capacity is not starved by smaller ones") {
  weft::runtime rt{weft::config{.threads = 3, .resources = {{"gpu", 2}}}};
  std::vector<weft::ref<int>> refs;
  for (int i = 0; i < 10; ++i) {
    refs.push_back(rt.submit(weft::task_options{.resources = {{"gpu", 1}}}, [] {
      std::this_thread::sleep_for(1ms);
      return 1;
    }));
  }
  auto big = rt.submit(weft::task_options{.resources = {{"gpu", 2}}}, [] { return 100; });
  for (int i = 0; i < 10; ++i)
    refs.push_back(rt.submit(weft::task_options{.resources = {{"gpu", 1}}}, [] { return 1; }));
  CHECK(big.get() == 100);
  for (auto& r : refs)
    CHECK(r.get() == 1);
}

namespace {
// Holds `vector_unit` from its construction until it is killed.
struct vector_holder {
  int id;
  explicit vector_holder(int i) : id(i) {}
  int who() const { return id; }
};
}  // namespace

TEST_CASE("a request waiting for one resource does not hold up requests for another") {
  weft::runtime rt{
      weft::config{.threads = 2, .resources = {{"vector_unit", 1}, {"graph_unit", 1}}}};
  const weft::actor_options vector_needs{.resources = {{"vector_unit", 1}}};
  auto a = rt.spawn<vector_holder>(vector_needs, 1);
  REQUIRE(a.call(&vector_holder::who).get_for(10s) == 1);  // a holds vector_unit now
  auto b = rt.spawn<vector_holder>(vector_needs, 2);       // waits for a to end
  auto b_ref = b.call(&vector_holder::who);
  auto c = rt.spawn<vector_holder>(weft::actor_options{.resources = {{"graph_unit", 1}}}, 3);
  // Neither c nor a task needing only graph_unit (free) may wait behind b.
  CHECK(c.call(&vector_holder::who).get_for(10s) == 3);
  auto task = rt.submit(weft::task_options{.resources = {{"graph_unit", 1}}}, [] { return 7; });
  rt.kill(c);  // releases graph_unit for the task (queued behind c, which asked first)
  CHECK(task.get_for(10s) == 7);
  CHECK_FALSE(b_ref.ready());
  rt.kill(a);
  CHECK(b_ref.get_for(10s) == 2);
}

TEST_CASE("a waiting large request is not overtaken on its resource, only on others") {
  weft::runtime rt{weft::config{.threads = 3, .resources = {{"gpu", 2}, {"cpu", 1}}}};
  std::atomic<bool> first_started{false};
  std::atomic<bool> release_first{false};
  std::vector<int> order;
  std::mutex order_mutex;
  auto note = [&](int who) {
    std::lock_guard lock(order_mutex);
    order.push_back(who);
  };
  auto first = rt.submit(weft::task_options{.resources = {{"gpu", 1}}}, [&] {
    first_started = true;
    while (!release_first.load())
      std::this_thread::sleep_for(1ms);
    note(1);
  });
  // Wait until the first task holds its gpu, so the big one must queue.
  weft_test::wait_for_flag(first_started);
  auto big = rt.submit(weft::task_options{.resources = {{"gpu", 2}}}, [&] { note(2); });
  auto small = rt.submit(weft::task_options{.resources = {{"gpu", 1}}}, [&] { note(3); });
  auto other = rt.submit(weft::task_options{.resources = {{"cpu", 1}}}, [&] { note(4); });
  other.get_for(10s);          // cpu is free and nobody waits for it: runs at once
  CHECK_FALSE(small.ready());  // one gpu is free, but the big request asked for gpus first
  CHECK_FALSE(big.ready());
  release_first = true;
  big.get_for(10s);
  small.get_for(10s);
  first.get_for(10s);
  std::lock_guard lock(order_mutex);
  CHECK(order == std::vector<int>{4, 1, 2, 3});
}

TEST_CASE("impossible resource requests fail at submit with a clear error") {
  weft::runtime rt{weft::config{.resources = {{"gpu", 2}}}};
  CHECK_THROWS_WITH_AS(
      rt.submit(weft::task_options{.name = "train", .resources = {{"gpu", 3}}}, [] {}),
      "task 'train' needs gpu=3 but the runtime's capacity is gpu=2; it could never run",
      weft::error);
  CHECK_THROWS_WITH_AS(rt.submit(weft::task_options{.resources = {{"tpu", 1}}}, [] {}),
                       doctest::Contains("needs resource 'tpu', which this runtime does not have "
                                         "(capacity: gpu=2)"),
                       weft::error);
  CHECK_THROWS_WITH_AS(rt.submit(weft::task_options{.resources = {{"gpu", 0}}}, [] {}),
                       "task 'unnamed': resource request gpu=0 must be positive", weft::error);
  CHECK_THROWS_AS(rt.submit(weft::task_options{.resources = {{"gpu", -1}}}, [] {}), weft::error);
  CHECK(rt.stats().submitted == 0);
}

TEST_CASE("a runtime with zero or negative capacity is refused") {
  CHECK_THROWS_AS(weft::runtime(weft::config{.resources = {{"gpu", 0}}}), weft::config_error);
  CHECK_THROWS_AS(weft::runtime(weft::config{.resources = {{"gpu", -3}}}), weft::config_error);
}

TEST_CASE("retries with a move-only by-value argument are refused at submit") {
  weft::runtime rt;
  auto take = [](std::unique_ptr<int> p) { return *p; };
  CHECK(rt.submit(take, std::make_unique<int>(3)).get() == 3);
  CHECK_THROWS_WITH_AS(rt.submit(weft::task_options{.retries = 1}, take, std::make_unique<int>(3)),
                       doctest::Contains("move-only argument by value"), weft::error);
}
