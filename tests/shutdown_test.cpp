// Shutdown through weft/runtime.hpp: pending work is cancelled, running work finishes, nothing
// hangs, refs outlive their runtime.
#include "weft/runtime.hpp"

#include <doctest/doctest.h>

#include "support/flag.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("shutdown with 100,000 tasks pending cancels what has not started") {
  std::vector<weft::ref<int>> refs;
  std::atomic<int> ran{0};
  weft::runtime_stats stats;
  {
    weft::runtime rt{weft::config{.threads = 2}};
    std::atomic<bool> release{false};
    // Two blockers hold both workers so that the rest stays queued until shutdown.
    for (int i = 0; i < 2; ++i) {
      refs.push_back(rt.submit([&] {
        weft_test::wait_for_flag(release);
        ++ran;
        return -1;
      }));
    }
    for (int i = 0; i < 100000; ++i) {
      refs.push_back(rt.submit([&ran, i] {
        ++ran;
        return i;
      }));
    }
    std::thread releaser([&] {
      std::this_thread::sleep_for(50ms);
      release = true;
    });
    rt.shutdown();
    releaser.join();
    stats = rt.stats();
  }
  int values = 0;
  int cancelled = 0;
  for (auto& r : refs) {
    REQUIRE(r.ready());
    try {
      r.get();
      ++values;
    } catch (const weft::cancelled_error& e) {
      ++cancelled;
      CHECK(std::string(e.what()).find("the runtime shut down before it started") !=
            std::string::npos);
    }
  }
  CHECK(values + cancelled == 100002);
  CHECK(values == ran.load());
  CHECK(values >= 2);  // the running blockers finished
  CHECK(cancelled > 0);
  CHECK(stats.live == 0);
  CHECK(stats.cancelled == static_cast<std::uint64_t>(cancelled));
}

TEST_CASE("tasks waiting on dependencies at shutdown are cancelled, not stranded") {
  weft::ref<int> tail;
  {
    weft::runtime rt{weft::config{.threads = 1}};
    std::atomic<bool> release{false};
    auto head = rt.submit([&] {
      weft_test::wait_for_flag(release);
      return 0;
    });
    tail = head;
    for (int i = 0; i < 10000; ++i)
      tail = rt.submit([](int x) { return x + 1; }, tail);
    std::thread releaser([&] {
      std::this_thread::sleep_for(20ms);
      release = true;
    });
    rt.shutdown();
    releaser.join();
  }
  REQUIRE(tail.ready());
  CHECK_THROWS_AS(tail.get(), weft::cancelled_error);
}

TEST_CASE("a task blocked in get() on a task cancelled by shutdown sees cancelled_error") {
  std::atomic<bool> saw_cancel{false};
  {
    weft::runtime rt{weft::config{.threads = 1}};
    std::atomic<bool> started{false};
    auto parent = rt.submit([&] {
      auto child = rt.submit([] { return 1; });
      started = true;
      std::this_thread::sleep_for(30ms);  // shutdown begins meanwhile
      try {
        return child.get();
      } catch (const weft::cancelled_error&) {
        saw_cancel = true;
        return -1;
      }
    });
    while (!started.load())
      std::this_thread::yield();
    rt.shutdown();
    CHECK(parent.get() == -1);
  }
  CHECK(saw_cancel.load());
}

TEST_CASE("refs held after the runtime is destroyed stay readable") {
  weft::ref<std::vector<int>> kept;
  weft::ref<int> failed;
  {
    weft::runtime rt;
    kept = rt.submit([] { return std::vector<int>{1, 2, 3}; });
    failed = rt.submit([]() -> int { throw std::runtime_error("late read"); });
    kept.get();
    CHECK_THROWS(failed.get());
  }
  CHECK(kept.get().size() == 3);
  CHECK_THROWS_WITH_AS(failed.get(), "late read", std::runtime_error);
  CHECK_THROWS_WITH_AS(kept.then([](const std::vector<int>& v) { return v.size(); }),
                       doctest::Contains("the runtime is shut down"), weft::error);
}

TEST_CASE("many runtimes created and destroyed in a row leave nothing behind") {
  for (int i = 0; i < 50; ++i) {
    weft::runtime rt{weft::config{.threads = 1 + static_cast<unsigned>(i % 3)}};
    std::vector<weft::ref<int>> refs;
    for (int j = 0; j < 100; ++j)
      refs.push_back(rt.submit([j] { return j; }));
    if (i % 2 == 0) CHECK(refs.back().get() == 99);
  }
}
