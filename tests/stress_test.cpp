// Concurrency stress through weft/runtime.hpp: many threads submitting, waiting and cancelling
// at once, and tasks submitting tasks. Run under ASan and TSan in CI.
#include "weft/runtime.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "weft/when.hpp"

TEST_CASE("8 threads submitting chains and fan-ins at once get every value") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::atomic<std::int64_t> total{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::vector<weft::ref<std::int64_t>> mine;
      for (int i = 0; i < 2000; ++i) {
        auto a = rt.submit([i, t] { return std::int64_t{i} + t; });
        mine.push_back(rt.submit([](std::int64_t x) { return x * 2; }, a));
      }
      std::int64_t sum = 0;
      for (auto& r : weft::when_all(mine).get())
        sum += r.get();
      total += sum;
    });
  }
  for (auto& th : threads)
    th.join();
  std::int64_t expected = 0;
  for (int t = 0; t < 8; ++t)
    for (int i = 0; i < 2000; ++i)
      expected += 2 * (std::int64_t{i} + t);
  CHECK(total.load() == expected);
}

TEST_CASE("cancel racing with start: every ref ends with a value or cancelled_error") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::vector<weft::ref<int>> refs;
  for (int i = 0; i < 20000; ++i)
    refs.push_back(rt.submit([i] { return i; }));
  std::thread canceller([&] {
    for (std::size_t i = 0; i < refs.size(); i += 2)
      rt.cancel(refs[i]);
  });
  canceller.join();
  int values = 0;
  int cancelled = 0;
  for (std::size_t i = 0; i < refs.size(); ++i) {
    try {
      int v = refs[i].get();
      CHECK(v == static_cast<int>(i));
      ++values;
    } catch (const weft::cancelled_error&) {
      CHECK(i % 2 == 0);
      ++cancelled;
    }
  }
  CHECK(values + cancelled == 20000);
  CHECK(values >= 10000);
}

TEST_CASE("tasks that spawn trees of tasks from every worker") {
  weft::runtime rt{weft::config{.threads = 4}};
  std::atomic<int> leaves{0};
  std::vector<weft::ref<int>> roots;
  for (int i = 0; i < 64; ++i) {
    roots.push_back(rt.submit([&rt, &leaves] {
      std::vector<weft::ref<int>> kids;
      for (int k = 0; k < 64; ++k)
        kids.push_back(rt.submit([&leaves] { return ++leaves, 1; }));
      int n = 0;
      for (auto& kid : kids)
        n += kid.get();
      return n;
    }));
  }
  int sum = 0;
  for (auto& r : roots)
    sum += r.get();
  CHECK(sum == 64 * 64);
  CHECK(leaves.load() == 64 * 64);
}

TEST_CASE("several threads waiting on the same ref all wake with the value") {
  weft::runtime rt{weft::config{.threads = 1}};
  std::atomic<bool> release{false};
  auto r = rt.submit([&] {
    while (!release.load())
      std::this_thread::yield();
    return 99;
  });
  std::atomic<int> woke{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 6; ++i) {
    waiters.emplace_back([&, i] {
      if (i % 2 == 0) {
        if (r.get() == 99) ++woke;
      } else {
        if (r.get_for(std::chrono::seconds(30)) == 99) ++woke;
      }
    });
  }
  release = true;
  for (auto& w : waiters)
    w.join();
  CHECK(woke.load() == 6);
}
