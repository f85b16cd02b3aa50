// Tests of waiting inside tasks (src/core/blocking.cpp) at scale: more tasks waiting at once
// than the process may hold suspended.
#include "weft/runtime.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "support/flag.hpp"

TEST_CASE("10,000 tasks waiting in get() on one slow task all complete") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::atomic<bool> release{false};
  auto gate = rt.submit([&] {
    weft_test::wait_for_flag(release);
    return 1;
  });
  constexpr int waiters = 10'000;
  std::vector<weft::ref<int>> refs;
  refs.reserve(waiters);
  for (int i = 0; i < waiters; ++i)
    refs.push_back(rt.submit([gate] { return gate.get(); }));
  // Let the waiters start (and suspend, up to the limit) before the gate opens.
  for (int i = 0; i < 5000 && rt.stats().live > 2; ++i) {
    if (refs[waiters / 2].ready()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  release = true;
  long sum = 0;
  for (auto& r : refs)
    sum += r.get();
  CHECK(sum == waiters);
}

TEST_CASE("timed waits past the suspension limit succeed, or time out, as asked") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::atomic<bool> release{false};
  auto gate = rt.submit([&] {
    weft_test::wait_for_flag(release);
    return 1;
  });
  constexpr int waiters = 5'000;
  auto wait_each = [&](std::chrono::milliseconds timeout) {
    std::vector<weft::ref<int>> refs;
    refs.reserve(waiters);
    for (int i = 0; i < waiters; ++i) {
      refs.push_back(rt.submit([gate, timeout] {
        try {
          return gate.get_for(timeout);
        } catch (const weft::timeout_error&) {
          return -1;
        }
      }));
    }
    return refs;
  };
  auto sum_of = [](std::vector<weft::ref<int>>& refs) {
    long sum = 0;
    for (auto& r : refs)
      sum += r.get();
    return sum;
  };

  // The gate stays closed: every wait runs out, suspended or blocking.
  auto timed_out = wait_each(std::chrono::milliseconds(2));
  CHECK(sum_of(timed_out) == -waiters);

  // The gate opens while they wait: every wait gets the value.
  auto served = wait_each(std::chrono::seconds(60));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  release = true;
  CHECK(sum_of(served) == waiters);
}

TEST_CASE("a timed wait in a task times out while the awaited task runs; never runs it inline") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::atomic<bool> release{false};
  auto waiter = rt.submit([&] {
    // Spawned from this worker, the gate is usually still queued when the wait starts; running
    // it inline would make the 10 ms wait last until the test releases the gate.
    auto gate = rt.submit([&] {
      weft_test::wait_for_flag(release);
      return 1;
    });
    try {
      gate.get_for(std::chrono::milliseconds(10));
      return 0;
    } catch (const weft::timeout_error&) {
      return 1;
    }
  });
  int got = -1;
  try {
    got = waiter.get_for(std::chrono::seconds(20));
  } catch (const weft::timeout_error&) {
  }
  release = true;
  CHECK(got == 1);
}
