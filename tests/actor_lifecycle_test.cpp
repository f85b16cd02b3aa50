// Tests of an actor's life: names and namespaces, owned and detached lifetimes, restarts,
// kill, shutdown, and many actors.
#include "weft/actor.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/flag.hpp"
#include "weft/runtime.hpp"

namespace {

struct counter {
  long n = 0;
  long add(long by) { return n += by; }
};

struct other {
  int f() { return 1; }
};

// Counts constructions and destructions in counters the test owns.
struct tracked {
  std::atomic<int>* made;
  std::atomic<int>* destroyed;
  int calls = 0;
  tracked(std::atomic<int>* m, std::atomic<int>* d) : made(m), destroyed(d) { ++*made; }
  tracked(const tracked&) = delete;
  tracked& operator=(const tracked&) = delete;
  ~tracked() { ++*destroyed; }
  int call() { return ++calls; }
  int slow_call() {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return ++calls;
  }
  int crash() {
    ++calls;
    throw std::logic_error("state corrupted");
  }
  int fail() { throw std::runtime_error("ordinary failure"); }
};

bool is_logic_error(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::logic_error&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

TEST_CASE("named actors: lookup across threads, duplicates and wrong types refused") {
  weft::runtime rt{weft::config{.threads = 2}};
  auto hits = rt.spawn<counter>(weft::actor_options{.name = "hits"});
  CHECK(hits.name() == "hits");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto found = rt.get_actor<counter>("hits");
      for (int i = 0; i < 100; ++i)
        found.call(&counter::add, 1L);
    });
  }
  for (auto& t : threads)
    t.join();
  CHECK(hits.call(&counter::add, 0L).get() == 400);
  CHECK(rt.get_actor<counter>("hits") == hits);

  CHECK_THROWS_WITH_AS(rt.spawn<counter>(weft::actor_options{.name = "hits"}),
                       doctest::Contains("an actor named 'hits' already exists"), weft::error);
  CHECK_THROWS_WITH_AS(rt.get_actor<other>("hits"), doctest::Contains("is a"), weft::error);
  CHECK_THROWS_WITH_AS(rt.get_actor<counter>("misses"),
                       doctest::Contains("no live actor named 'misses'"), weft::error);
}

TEST_CASE("namespaces isolate the same name") {
  weft::runtime rt{weft::config{.threads = 2, .namespace_ = "app"}};
  auto a = rt.spawn<counter>(weft::actor_options{.name = "x"});
  auto b = rt.spawn<counter>(weft::actor_options{.name = "x", .namespace_ = "other"});
  a.call(&counter::add, 1L);
  b.call(&counter::add, 2L);
  CHECK(rt.get_actor<counter>("x").call(&counter::add, 0L).get() == 1);
  CHECK(rt.get_actor<counter>("x", "app").call(&counter::add, 0L).get() == 1);
  CHECK(rt.get_actor<counter>("x", "other").call(&counter::add, 0L).get() == 2);
  CHECK_THROWS_AS(rt.get_actor<counter>("x", "third"), weft::error);
}

TEST_CASE("get_or_spawn is race free: racing callers share one actor") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::atomic<int> made{0};
  std::atomic<int> destroyed{0};
  std::vector<weft::actor<tracked>> got(8);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back(
        [&, t] { got[t] = rt.get_or_spawn<tracked>("shared", &made, &destroyed); });
  }
  for (auto& t : threads)
    t.join();
  for (auto& g : got)
    CHECK(g == got[0]);
  CHECK(got[0].call(&tracked::call).get() == 1);
  CHECK(made.load() == 1);
  CHECK_THROWS_WITH_AS(rt.get_or_spawn<counter>("shared"), doctest::Contains("is a"), weft::error);
}

TEST_CASE("owned lifetime: destroyed exactly once, after its last queued call") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::atomic<int> made{0};
  std::atomic<int> destroyed{0};
  weft::ref<int> last;
  {
    auto a = rt.spawn<tracked>(&made, &destroyed);
    for (int i = 0; i < 100; ++i)
      last = a.call(&tracked::slow_call);
    auto copy = a;
  }                          // the last handle goes while calls are still queued
  CHECK(last.get() == 100);  // every queued call ran first
  for (int i = 0; i < 2000 && destroyed.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(made.load() == 1);
  CHECK(destroyed.load() == 1);
  CHECK(rt.stats().actors == 0);
}

TEST_CASE("an owned named actor frees its name with its last handle") {
  weft::runtime rt{weft::config{.threads = 2}};
  { auto a = rt.spawn<counter>(weft::actor_options{.name = "tmp"}); }
  CHECK_THROWS_AS(rt.get_actor<counter>("tmp"), weft::error);
  auto again = rt.spawn<counter>(weft::actor_options{.name = "tmp"});
  CHECK(again.call(&counter::add, 3L).get() == 3);
}

TEST_CASE("detached lifetime: the actor survives its handles until killed") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::atomic<int> made{0};
  std::atomic<int> destroyed{0};
  {
    auto a = rt.spawn<tracked>(
        weft::actor_options{.name = "service", .lifetime = weft::lifetime::detached}, &made,
        &destroyed);
    CHECK(a.call(&tracked::call).get() == 1);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(destroyed.load() == 0);
  auto found = rt.get_actor<tracked>("service");
  CHECK(found.call(&tracked::call).get() == 2);  // same instance, state kept
  rt.kill(found);
  CHECK_THROWS_WITH_AS(found.call(&tracked::call).get(), doctest::Contains("actor 'service'"),
                       weft::actor_died);
  for (int i = 0; i < 2000 && destroyed.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(destroyed.load() == 1);
  CHECK_THROWS_AS(rt.get_actor<tracked>("service"), weft::error);
}

TEST_CASE("restarts: restart_on re-creates the instance; queued calls run on the new one") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::atomic<int> made{0};
  std::atomic<int> destroyed{0};
  auto a = rt.spawn<tracked>(weft::actor_options{.max_restarts = 2, .restart_on = is_logic_error},
                             &made, &destroyed);
  CHECK(a.call(&tracked::call).get() == 1);
  CHECK(a.call(&tracked::call).get() == 2);
  auto crash = a.call(&tracked::crash);
  auto after = a.call(&tracked::call);  // queued behind the crash
  CHECK_THROWS_WITH_AS(crash.get(), "state corrupted", std::logic_error);
  CHECK(after.get() == 1);  // a fresh instance
  CHECK(made.load() == 2);
  CHECK(destroyed.load() == 1);

  // An exception restart_on does not accept fails only its call.
  CHECK_THROWS_AS(a.call(&tracked::fail).get(), std::runtime_error);
  CHECK(a.call(&tracked::call).get() == 2);
  CHECK(made.load() == 2);

  CHECK_THROWS_AS(a.call(&tracked::crash).get(), std::logic_error);  // restart 2 of 2
  CHECK(a.call(&tracked::call).get() == 1);
  CHECK(made.load() == 3);

  CHECK_THROWS_AS(a.call(&tracked::crash).get(), std::logic_error);  // no restart left
  for (int i = 0; i < 3; ++i) {
    CHECK_THROWS_WITH_AS(a.call(&tracked::call).get(), doctest::Contains("max_restarts (2)"),
                         weft::actor_died);
  }
  for (int i = 0; i < 2000 && destroyed.load() < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(made.load() == 3);
  CHECK(destroyed.load() == 3);
}

TEST_CASE("a constructor that throws is retried while restarts remain, then the actor dies") {
  weft::runtime rt{weft::config{.threads = 2}};
  static std::atomic<int> attempts{0};
  struct fragile {
    explicit fragile(int fail_times) {
      if (attempts.fetch_add(1) < fail_times) throw std::runtime_error("not yet");
    }
    int ok() { return attempts.load(); }
  };
  attempts = 0;
  auto a = rt.spawn<fragile>(weft::actor_options{.max_restarts = 2}, 2);
  CHECK(a.call(&fragile::ok).get() == 3);
  attempts = 0;
  auto b = rt.spawn<fragile>(weft::actor_options{.max_restarts = 1}, 5);
  CHECK_THROWS_WITH_AS(b.call(&fragile::ok).get(),
                       doctest::Contains("could not be constructed: std::runtime_error: not yet"),
                       weft::actor_died);
  CHECK(attempts.load() == 2);
}

TEST_CASE("a failed constructor argument kills the actor with that reason") {
  weft::runtime rt{weft::config{.threads = 2}};
  auto bad = rt.submit([]() -> long { throw std::runtime_error("no config"); });
  struct needs {
    explicit needs(long) {}
    int f() { return 1; }
  };
  auto a = rt.spawn<needs>(bad);
  CHECK_THROWS_WITH_AS(a.call(&needs::f).get(), doctest::Contains("no config"), weft::actor_died);
}

TEST_CASE("kill with 10,000 calls queued: each fails with actor_died, nothing hangs") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::atomic<int> made{0};
  std::atomic<int> destroyed{0};
  std::atomic<bool> release{false};
  auto a = rt.spawn<tracked>(weft::actor_options{.name = "victim"}, &made, &destroyed);
  std::atomic<bool> started{false};
  auto blocker = a.call([&](tracked&) {
    started = true;
    weft_test::wait_for_flag(release);
  });
  std::vector<weft::ref<int>> queued;
  for (int i = 0; i < 10'000; ++i)
    queued.push_back(a.call(&tracked::call));
  weft_test::wait_for_flag(started);  // kill while the blocker runs, not before it starts
  rt.kill(a);
  release = true;
  blocker.get();  // the running call finishes normally
  int died = 0;
  for (auto& r : queued) {
    try {
      r.get();
    } catch (const weft::actor_died& e) {
      if (std::string(e.what()).find("actor 'victim'") != std::string::npos &&
          std::string(e.what()).find("killed by runtime::kill") != std::string::npos)
        ++died;
    }
  }
  CHECK(died == 10'000);
  CHECK_THROWS_AS(a.call(&tracked::call).get(), weft::actor_died);
  rt.kill(a);  // killing a dead actor does nothing
  for (int i = 0; i < 2000 && destroyed.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(destroyed.load() == 1);
  // The name is free again.
  auto b = rt.spawn<counter>(weft::actor_options{.name = "victim"});
  CHECK(b.call(&counter::add, 1L).get() == 1);
}

TEST_CASE("100,000 actors spawned, each called once, all destroyed") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::atomic<int> made{0};
  std::atomic<int> destroyed{0};
  constexpr int n = 100'000;
  {
    std::vector<weft::ref<int>> results;
    results.reserve(n);
    for (int i = 0; i < n; ++i)
      results.push_back(rt.spawn<tracked>(&made, &destroyed).call(&tracked::call));
    long sum = 0;
    for (auto& r : results)
      sum += r.get();
    CHECK(sum == n);
  }
  for (int i = 0; i < 10'000 && destroyed.load() < n; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(made.load() == n);
  CHECK(destroyed.load() == n);
  CHECK(rt.stats().actors == 0);
}

TEST_CASE("shutdown kills every actor: queued calls fail, instances are destroyed") {
  std::atomic<int> made{0};
  std::atomic<int> destroyed{0};
  std::vector<weft::ref<int>> queued;
  weft::actor<tracked> kept;
  {
    weft::runtime rt{weft::config{.threads = 2}};
    kept = rt.spawn<tracked>(weft::actor_options{.lifetime = weft::lifetime::detached}, &made,
                             &destroyed);
    CHECK(kept.call(&tracked::call).get() == 1);  // constructed before the shutdown
    for (int i = 0; i < 1000; ++i)
      queued.push_back(kept.call(&tracked::slow_call));
    rt.shutdown();
    CHECK(destroyed.load() == 1);
    CHECK(rt.stats().actors == 0);
  }
  int ran = 0;
  int died = 0;
  for (auto& r : queued) {
    try {
      r.get();
      ++ran;
    } catch (const weft::actor_died& e) {
      if (std::string(e.what()).find("the runtime shut down") != std::string::npos) ++died;
    }
  }
  CHECK(ran + died == 1000);
  CHECK(died > 0);
  // The handle outlives the runtime; a call on it fails cleanly.
  CHECK_THROWS_AS(kept.call(&tracked::call).get(), weft::actor_died);
}

namespace {
// An actor whose calls may overlap (max_concurrency > 1): its state is atomic.
struct concurrent_tracked {
  std::atomic<int>* made;
  std::atomic<int>* destroyed;
  std::atomic<int> calls{0};
  concurrent_tracked(std::atomic<int>* m, std::atomic<int>* d) : made(m), destroyed(d) { ++*made; }
  concurrent_tracked(const concurrent_tracked&) = delete;
  concurrent_tracked& operator=(const concurrent_tracked&) = delete;
  ~concurrent_tracked() { ++*destroyed; }
  // Returns how many instances had been destroyed when the call ended.
  int slow() {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ++calls;
    return destroyed->load();
  }
  int crash() { throw std::logic_error("corrupted"); }
  int count() { return calls.load(); }
};
}  // namespace

TEST_CASE("a concurrent actor restarts only once its running calls are done") {
  weft::runtime rt{weft::config{.threads = 4}};
  std::atomic<int> made{0};
  std::atomic<int> destroyed{0};
  auto a = rt.spawn<concurrent_tracked>(
      weft::actor_options{.max_concurrency = 3, .max_restarts = 1, .restart_on = is_logic_error},
      &made, &destroyed);
  auto slow1 = a.call(&concurrent_tracked::slow);
  auto slow2 = a.call(&concurrent_tracked::slow);
  auto crash = a.call(&concurrent_tracked::crash);
  auto after = a.call(&concurrent_tracked::count);  // runs on the new instance
  CHECK_THROWS_AS(crash.get(), std::logic_error);
  CHECK(slow1.get() == 0);  // the old instance outlived the calls running on it
  CHECK(slow2.get() == 0);
  CHECK(after.get() == 0);
  CHECK(made.load() == 2);
  CHECK(destroyed.load() == 1);
}

TEST_CASE("shutdown with a concurrent actor mid-flight ends it cleanly") {
  std::atomic<int> made{0};
  std::atomic<int> destroyed{0};
  std::vector<weft::ref<int>> refs;
  {
    weft::runtime rt{weft::config{.threads = 4}};
    auto a =
        rt.spawn<concurrent_tracked>(weft::actor_options{.max_concurrency = 4}, &made, &destroyed);
    for (int i = 0; i < 200; ++i)
      refs.push_back(a.call(&concurrent_tracked::slow));
    CHECK(refs.front().get() == 0);  // calls are running when the runtime goes
  }
  CHECK(made.load() == 1);
  CHECK(destroyed.load() == 1);
  int ran = 0;
  int died = 0;
  for (auto& r : refs) {
    try {
      r.get();
      ++ran;
    } catch (const weft::actor_died&) {
      ++died;
    }
  }
  CHECK(ran + died == 200);
  CHECK(ran >= 1);
  CHECK(died > 0);
}
