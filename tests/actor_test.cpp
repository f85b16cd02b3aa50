// Tests of weft/actor.hpp: calls, ordering, concurrency, self, errors, resources.
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
  long value() const { return n; }
};

// Records the order calls arrive in, per caller, without any lock: with max_concurrency 1
// the calls never overlap.
struct sequence_checker {
  std::vector<long> last;
  long total = 0;
  bool in_order = true;
  bool overlapped = false;
  bool busy = false;
  explicit sequence_checker(int callers) : last(static_cast<std::size_t>(callers), -1) {}
  void record(int caller, long seq) {
    if (busy) overlapped = true;
    busy = true;
    if (last[static_cast<std::size_t>(caller)] + 1 != seq) in_order = false;
    last[static_cast<std::size_t>(caller)] = seq;
    ++total;
    busy = false;
  }
  long count() const { return total; }
  bool ok() const { return in_order && !overlapped; }
};

struct overlap_meter {
  std::atomic<int>* inside;
  std::atomic<int>* peak;
  void enter() {
    int now = inside->fetch_add(1) + 1;
    int seen = peak->load();
    while (now > seen && !peak->compare_exchange_weak(seen, now)) {
    }
    // Stay until 4 calls overlap (or a bounded while), so the overlap can be observed.
    for (int i = 0; i < 2000 && inside->load() < 4; ++i)
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    inside->fetch_sub(1);
  }
};

struct greeter {
  std::string greeting;
  explicit greeter(const std::string& g) : greeting(g) {}
  std::string greet(const std::string& who) const { return greeting + ", " + who; }
};

struct thrower {
  int calls = 0;
  int work(bool fail) {
    ++calls;
    if (fail) throw std::invalid_argument("bad input");
    return calls;
  }
};

struct self_caller {
  int n = 0;
  int bump() { return ++n; }
  // Queues a call to itself and returns its ref: fine.
  weft::ref<int> bump_later() { return weft::self<self_caller>().call(&self_caller::bump); }
  // Waits for a call to itself: refused with an error instead of hanging.
  int bump_and_wait() { return weft::self<self_caller>().call(&self_caller::bump).get(); }
};

}  // namespace

TEST_CASE("a call runs the method on the actor's state and returns its result") {
  weft::runtime rt{weft::config{.threads = 2}};
  weft::actor<counter> c = rt.spawn<counter>();
  CHECK(c.call(&counter::add, 5).get() == 5);
  CHECK(c.call(&counter::add, 10).get() == 15);
  CHECK(c.call(&counter::value).get() == 15);
  // Any callable taking the instance first works too.
  CHECK(c.call([](counter& self, long k) { return self.n * k; }, 2).get() == 30);
}

TEST_CASE("constructor arguments may be refs; calls made before construction wait for it") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::atomic<bool> go{false};
  auto greeting = rt.submit([&] {
    weft_test::wait_for_flag(go);
    return std::string("hello");
  });
  auto g = rt.spawn<greeter>(greeting);
  auto r = g.call(&greeter::greet, std::string("weft"));
  CHECK_FALSE(r.ready());
  go = true;
  CHECK(r.get() == "hello, weft");
}

TEST_CASE("ref arguments of calls are dependencies and keep the call order") {
  weft::runtime rt{weft::config{.threads = 2}};
  auto c = rt.spawn<counter>();
  std::atomic<bool> go{false};
  auto slow = rt.submit([&] {
    weft_test::wait_for_flag(go);
    return 100L;
  });
  auto first = c.call(&counter::add, slow);  // waits for slow
  auto second = c.call(&counter::add, 1L);   // queued behind it, must not overtake
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK_FALSE(second.ready());
  go = true;
  CHECK(first.get() == 100);
  CHECK(second.get() == 101);
}

TEST_CASE("per-caller FIFO: 8 threads x 10,000 calls, lock-free state stays consistent") {
  weft::runtime rt{weft::config{.threads = 2}};
  constexpr int callers = 8;
  constexpr long per_caller = 10'000;
  auto checker = rt.spawn<sequence_checker>(callers);
  std::vector<std::thread> threads;
  for (int t = 0; t < callers; ++t) {
    threads.emplace_back([&, t] {
      for (long i = 0; i < per_caller; ++i)
        checker.call(&sequence_checker::record, t, i);
    });
  }
  for (auto& t : threads)
    t.join();
  CHECK(checker.call(&sequence_checker::count).get() == callers * per_caller);
  CHECK(checker.call(&sequence_checker::ok).get());
}

TEST_CASE("calls from inside tasks and other actors keep their order") {
  weft::runtime rt{weft::config{.threads = 2}};
  auto checker = rt.spawn<sequence_checker>(1);
  auto sender = rt.submit([checker] {
    for (long i = 0; i < 1000; ++i)
      checker.call(&sequence_checker::record, 0, i);
  });
  sender.get();
  CHECK(checker.call(&sequence_checker::count).get() == 1000);
  CHECK(checker.call(&sequence_checker::ok).get());
}

TEST_CASE("max_concurrency = 4: up to 4 calls overlap, never 5") {
  weft::runtime rt{weft::config{.threads = 6}};
  std::atomic<int> inside{0};
  std::atomic<int> peak{0};
  auto meter = rt.spawn<overlap_meter>(weft::actor_options{.max_concurrency = 4}, &inside, &peak);
  std::vector<weft::ref<void>> calls;
  for (int i = 0; i < 40; ++i)
    calls.push_back(meter.call(&overlap_meter::enter));
  for (auto& c : calls)
    c.get();
  CHECK(peak.load() == 4);
}

TEST_CASE("an exception from a method fails that call only; the actor lives on") {
  weft::runtime rt{weft::config{.threads = 2}};
  auto t = rt.spawn<thrower>();
  CHECK(t.call(&thrower::work, false).get() == 1);
  CHECK_THROWS_WITH_AS(t.call(&thrower::work, true).get(), "bad input", std::invalid_argument);
  CHECK(t.call(&thrower::work, false).get() == 3);  // same instance: its state was kept
}

TEST_CASE("per-call retries re-run an idempotent method on the same instance") {
  weft::runtime rt{weft::config{.threads = 2}};
  struct flaky {
    int attempts = 0;
    int once_failing() {
      if (++attempts < 3) throw std::runtime_error("transient");
      return attempts;
    }
  };
  auto f = rt.spawn<flaky>();
  CHECK(f.call(weft::task_options{.retries = 2}, &flaky::once_failing).get() == 3);
  CHECK_THROWS_WITH_AS(f.call(weft::task_options{.resources = {{"gpu", 1}}}, &flaky::once_failing),
                       doctest::Contains("cannot be given per call"), weft::error);
}

TEST_CASE("self<T>() gives an actor its own handle; awaiting its own call is an error") {
  weft::runtime rt{weft::config{.threads = 2}};
  auto s = rt.spawn<self_caller>();
  weft::ref<int> later = s.call(&self_caller::bump_later);
  CHECK(later.get() == 1);
  CHECK_THROWS_WITH_AS(s.call(&self_caller::bump_and_wait).get(),
                       doctest::Contains("waits for the result of a call to itself"), weft::error);
  CHECK(s.call(&self_caller::bump).get() == 3);  // the refused call still ran afterwards
  CHECK_THROWS_WITH_AS(weft::self<self_caller>(), doctest::Contains("outside an actor"),
                       weft::error);
  auto wrong = s.call([](self_caller&) { (void)weft::self<counter>(); });
  CHECK_THROWS_WITH_AS(wrong.get(), doctest::Contains("use self<"), weft::error);
}

TEST_CASE("empty handles and bad options give clear errors") {
  weft::runtime rt{weft::config{.threads = 1, .resources = {{"gpu", 1}}}};
  weft::actor<counter> empty;
  CHECK_FALSE(empty.valid());
  CHECK_THROWS_WITH_AS(empty.call(&counter::add, 1L), doctest::Contains("empty weft::actor"),
                       weft::error);
  CHECK_THROWS_WITH_AS(rt.spawn<counter>(weft::actor_options{.max_concurrency = 0}),
                       doctest::Contains("max_concurrency = 0"), weft::error);
  CHECK_THROWS_WITH_AS(rt.spawn<counter>(weft::actor_options{.max_restarts = -1}),
                       doctest::Contains("max_restarts = -1"), weft::error);
  CHECK_THROWS_WITH_AS(rt.spawn<counter>(weft::actor_options{.resources = {{"gpu", 2}}}),
                       doctest::Contains("capacity is gpu=1"), weft::error);
  CHECK(rt.stats().actors == 0);
}

TEST_CASE("actor resources are held for the actor's whole life") {
  weft::runtime rt{weft::config{.threads = 2, .resources = {{"gpu", 1}}}};
  auto first = rt.spawn<counter>(weft::actor_options{.resources = {{"gpu", 1}}});
  CHECK(first.call(&counter::add, 1L).get() == 1);
  // A second gpu actor cannot start while the first one lives.
  auto second = rt.spawn<counter>(weft::actor_options{.resources = {{"gpu", 1}}});
  auto pending = second.call(&counter::add, 2L);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK_FALSE(pending.ready());
  // Neither may a gpu task.
  auto task = rt.submit(weft::task_options{.resources = {{"gpu", 1}}}, [] { return 7; });
  first = weft::actor<counter>();  // its last handle: it ends and frees the gpu
  CHECK(pending.get() == 2);
  second = weft::actor<counter>();
  CHECK(task.get() == 7);
}
