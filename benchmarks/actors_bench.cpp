// Actor workloads on weft beside the same workloads on the C++ Actor Framework (CAF 0.17,
// Debian libcaf-dev, built in only when found) and beside a raw baseline where one exists:
//   ping_pong_1M   two actors bounce one message 1,000,000 times (raw: a tbb::task_group
//                  hand-off chain, the cheapest "run the next step as a new task")
//   fan_in_1M      4 threads send 250,000 increments each to one counter actor (raw: the 4
//                  threads lock a std::mutex around the counter)
//   request_seq    100,000 sequential call(...).get() from outside the runtime
//   request_burst  100,000 calls in flight, then all awaited
//   create_100k    spawn 100,000 actors, call each once, destroy them all
//   idle_memory    heap bytes per idle actor (started, no call queued), 100,000 of them
#include <benchmark/benchmark.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include <malloc.h>
#include <atomic>

#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#ifdef WEFT_BENCH_WITH_CAF
#include <caf/all.hpp>
#endif

#include "common/ratio_reporter.hpp"

namespace {

constexpr int bounces = 1'000'000;
constexpr int senders = 4;
constexpr int per_sender = 250'000;
constexpr int requests = 100'000;
constexpr int many_actors = 100'000;

unsigned bench_threads() {
  return std::thread::hardware_concurrency();
}

// Bytes currently allocated with malloc/new (glibc), independent of page reuse.
long heap_bytes() {
  return static_cast<long>(mallinfo2().uordblks);
}

// Blocks until `flag` becomes true.
void await_flag(std::atomic<bool>& flag) {
  while (!flag.load(std::memory_order_acquire))
    flag.wait(false, std::memory_order_acquire);
}

void raise_flag(std::atomic<bool>& flag) {
  flag.store(true, std::memory_order_release);
  flag.notify_all();
}

// ---------------------------------------------------------------------------------------------
// weft

struct weft_player {
  weft::actor<weft_player> peer;
  std::atomic<bool>* done;
  explicit weft_player(std::atomic<bool>* d) : done(d) {}
  void meet(const weft::actor<weft_player>& p) { peer = p; }
  void leave() { peer = {}; }  // breaks the handle cycle so both actors can end
  void hit(int remaining) {
    if (remaining == 0) {
      raise_flag(*done);
      return;
    }
    peer.call(&weft_player::hit, remaining - 1);
  }
};

void ping_pong_weft(benchmark::State& state) {
  weft::runtime rt{weft::config{.threads = bench_threads()}};
  for (auto _ : state) {
    std::atomic<bool> done{false};
    auto a = rt.spawn<weft_player>(&done);
    auto b = rt.spawn<weft_player>(&done);
    a.call(&weft_player::meet, b);
    b.call(&weft_player::meet, a).get();
    a.call(&weft_player::hit, bounces);
    await_flag(done);
    a.call(&weft_player::leave);
    b.call(&weft_player::leave).get();
  }
  state.SetItemsProcessed(state.iterations() * bounces);
}

struct weft_counter {
  long n = 0;
  void add(long by) { n += by; }
  long value() const { return n; }
};

void fan_in_weft(benchmark::State& state) {
  weft::runtime rt{weft::config{.threads = bench_threads()}};
  for (auto _ : state) {
    auto counter = rt.spawn<weft_counter>();
    std::vector<std::thread> threads;
    for (int s = 0; s < senders; ++s) {
      threads.emplace_back([&] {
        for (int i = 0; i < per_sender; ++i)
          counter.call(&weft_counter::add, 1L);
      });
    }
    for (auto& t : threads)
      t.join();
    if (counter.call(&weft_counter::value).get() != long{senders} * per_sender)
      state.SkipWithError("lost increments");
  }
  state.SetItemsProcessed(state.iterations() * senders * per_sender);
}

struct weft_echo {
  int echo(int x) { return x; }
};

void request_seq_weft(benchmark::State& state) {
  weft::runtime rt{weft::config{.threads = bench_threads()}};
  auto echo = rt.spawn<weft_echo>();
  for (auto _ : state) {
    long sum = 0;
    for (int i = 0; i < requests; ++i)
      sum += echo.call(&weft_echo::echo, 1).get();
    if (sum != requests) state.SkipWithError("wrong sum");
  }
  state.SetItemsProcessed(state.iterations() * requests);
}

void request_burst_weft(benchmark::State& state) {
  weft::runtime rt{weft::config{.threads = bench_threads()}};
  auto echo = rt.spawn<weft_echo>();
  std::vector<weft::ref<int>> refs;
  refs.reserve(requests);
  for (auto _ : state) {
    refs.clear();
    for (int i = 0; i < requests; ++i)
      refs.push_back(echo.call(&weft_echo::echo, 1));
    long sum = 0;
    for (auto& r : refs)
      sum += r.get();
    if (sum != requests) state.SkipWithError("wrong sum");
  }
  state.SetItemsProcessed(state.iterations() * requests);
}

void create_weft(benchmark::State& state) {
  weft::runtime rt{weft::config{.threads = bench_threads()}};
  std::vector<weft::ref<int>> refs;
  refs.reserve(many_actors);
  for (auto _ : state) {
    refs.clear();
    for (int i = 0; i < many_actors; ++i)
      refs.push_back(rt.spawn<weft_echo>().call(&weft_echo::echo, 1));
    long sum = 0;
    for (auto& r : refs)
      sum += r.get();
    if (sum != many_actors) state.SkipWithError("wrong sum");
    while (rt.stats().actors != 0)
      std::this_thread::yield();  // every actor ended (destroyed on the arena)
  }
  state.SetItemsProcessed(state.iterations() * many_actors);
}

void idle_memory_weft(benchmark::State& state) {
  weft::runtime rt{weft::config{.threads = bench_threads()}};
  for (auto _ : state) {
    std::vector<weft::actor<weft_echo>> actors;
    actors.reserve(many_actors);
    actors.push_back(rt.spawn<weft_echo>());  // warm up allocator pools
    actors.back().call(&weft_echo::echo, 1).get();
    long before = heap_bytes();
    for (int i = 0; i < many_actors; ++i)
      actors.push_back(rt.spawn<weft_echo>());
    actors.back().call(&weft_echo::echo, 1).get();  // the last one started: all did
    long after = heap_bytes();
    state.counters["bytes_per_idle_actor"] = static_cast<double>(after - before) / many_actors;
  }
}

// ---------------------------------------------------------------------------------------------
// raw baselines

struct tbb_bounce {
  tbb::task_group& tg;
  std::atomic<bool>& done;
  void operator()(int remaining) const {
    if (remaining == 0) {
      raise_flag(done);
      return;
    }
    tg.run([this, remaining] { (*this)(remaining - 1); });
  }
};

void ping_pong_tbb(benchmark::State& state) {
  tbb::task_arena arena(static_cast<int>(bench_threads()));
  for (auto _ : state) {
    std::atomic<bool> done{false};
    arena.execute([&] {
      tbb::task_group tg;
      tbb_bounce bounce{tg, done};
      tg.run([&] { bounce(bounces); });
      tg.wait();
    });
    await_flag(done);
  }
  state.SetItemsProcessed(state.iterations() * bounces);
}

void fan_in_mutex(benchmark::State& state) {
  for (auto _ : state) {
    std::mutex m;
    long n = 0;
    std::vector<std::thread> threads;
    for (int s = 0; s < senders; ++s) {
      threads.emplace_back([&] {
        for (int i = 0; i < per_sender; ++i) {
          std::lock_guard lock(m);
          n += 1;
        }
      });
    }
    for (auto& t : threads)
      t.join();
    if (n != long{senders} * per_sender) state.SkipWithError("lost increments");
  }
  state.SetItemsProcessed(state.iterations() * senders * per_sender);
}

// ---------------------------------------------------------------------------------------------
// CAF 0.17

#ifdef WEFT_BENCH_WITH_CAF

struct caf_setup {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf_setup() {
    cfg.set("scheduler.max-threads", static_cast<std::size_t>(bench_threads()));
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

caf::behavior caf_player(caf::event_based_actor* self, std::atomic<bool>* done) {
  auto peer = std::make_shared<caf::actor>();
  return {
      [=](caf::actor p) { *peer = std::move(p); },
      [=](int remaining) {
        if (remaining == 0) {
          raise_flag(*done);
          self->quit();
          return;
        }
        self->send(*peer, remaining - 1);
        if (remaining == 1) self->quit();
      },
  };
}

void ping_pong_caf(benchmark::State& state) {
  caf_setup caf;
  for (auto _ : state) {
    std::atomic<bool> done{false};
    auto a = caf.sys->spawn(caf_player, &done);
    auto b = caf.sys->spawn(caf_player, &done);
    caf::anon_send(a, b);
    caf::anon_send(b, a);
    caf::anon_send(a, bounces);
    await_flag(done);
  }
  state.SetItemsProcessed(state.iterations() * bounces);
}

caf::behavior caf_counter(caf::event_based_actor* self, std::atomic<bool>* done, long target) {
  auto n = std::make_shared<long>(0);
  return {
      [=](long by) {
        *n += by;
        if (*n == target) {
          raise_flag(*done);
          self->quit();
        }
      },
  };
}

void fan_in_caf(benchmark::State& state) {
  caf_setup caf;
  for (auto _ : state) {
    std::atomic<bool> done{false};
    auto counter = caf.sys->spawn(caf_counter, &done, long{senders} * per_sender);
    std::vector<std::thread> threads;
    for (int s = 0; s < senders; ++s) {
      threads.emplace_back([&] {
        for (int i = 0; i < per_sender; ++i)
          caf::anon_send(counter, 1L);
      });
    }
    for (auto& t : threads)
      t.join();
    await_flag(done);
  }
  state.SetItemsProcessed(state.iterations() * senders * per_sender);
}

caf::behavior caf_echo() {
  return {[](int x) { return x; }};
}

// Answers one message, then ends (as a weft `owned` actor ends once its handles are gone);
// counts its end in `ended`.
caf::behavior caf_echo_once(caf::event_based_actor* self, std::atomic<int>* ended) {
  self->attach_functor([ended] { ended->fetch_add(1); });
  return {[=](int x) {
    self->quit();
    return x;
  }};
}

void request_seq_caf(benchmark::State& state) {
  caf_setup caf;
  auto echo = caf.sys->spawn(caf_echo);
  caf::scoped_actor self{*caf.sys};
  for (auto _ : state) {
    long sum = 0;
    for (int i = 0; i < requests; ++i) {
      self->request(echo, caf::infinite, 1)
          .receive([&](int x) { sum += x; }, [&](caf::error&) { state.SkipWithError("error"); });
    }
    if (sum != requests) state.SkipWithError("wrong sum");
  }
  self->send_exit(echo, caf::exit_reason::user_shutdown);
  state.SetItemsProcessed(state.iterations() * requests);
}

void request_burst_caf(benchmark::State& state) {
  caf_setup caf;
  auto echo = caf.sys->spawn(caf_echo);
  caf::scoped_actor self{*caf.sys};
  for (auto _ : state) {
    for (int i = 0; i < requests; ++i)
      self->send(echo, 1);
    long sum = 0;
    int received = 0;
    self->receive_for(received, requests)([&](int x) { sum += x; });
    if (sum != requests) state.SkipWithError("wrong sum");
  }
  self->send_exit(echo, caf::exit_reason::user_shutdown);
  state.SetItemsProcessed(state.iterations() * requests);
}

void create_caf(benchmark::State& state) {
  caf_setup caf;
  caf::scoped_actor self{*caf.sys};
  for (auto _ : state) {
    std::atomic<int> ended{0};
    for (int i = 0; i < many_actors; ++i)
      self->send(caf.sys->spawn(caf_echo_once, &ended), 1);
    long sum = 0;
    int received = 0;
    self->receive_for(received, many_actors)([&](int x) { sum += x; });
    if (sum != many_actors) state.SkipWithError("wrong sum");
    while (ended.load() != many_actors)
      std::this_thread::yield();  // every actor ended
  }
  state.SetItemsProcessed(state.iterations() * many_actors);
}

void idle_memory_caf(benchmark::State& state) {
  caf_setup caf;
  for (auto _ : state) {
    std::vector<caf::actor> actors;
    actors.reserve(many_actors);
    actors.push_back(caf.sys->spawn(caf_echo));
    long before = heap_bytes();
    for (int i = 0; i < many_actors; ++i)
      actors.push_back(caf.sys->spawn(caf_echo));
    long after = heap_bytes();
    state.counters["bytes_per_idle_actor"] = static_cast<double>(after - before) / many_actors;
    for (auto& a : actors)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
}

#endif

}  // namespace

#define WEFT_ACTOR_BENCH(fn, name) \
  BENCHMARK(fn)->Name(name)->Unit(benchmark::kMillisecond)->UseRealTime()

WEFT_ACTOR_BENCH(ping_pong_weft, "ping_pong_1M:weft");
WEFT_ACTOR_BENCH(ping_pong_tbb, "ping_pong_1M:tbb");
WEFT_ACTOR_BENCH(fan_in_weft, "fan_in_1M:weft");
WEFT_ACTOR_BENCH(fan_in_mutex, "fan_in_1M:mutex");
WEFT_ACTOR_BENCH(request_seq_weft, "request_seq_100k:weft");
WEFT_ACTOR_BENCH(request_burst_weft, "request_burst_100k:weft");
WEFT_ACTOR_BENCH(create_weft, "create_100k:weft");
// Memory is measured once per process: a repetition would reuse the freed pages.
WEFT_ACTOR_BENCH(idle_memory_weft, "idle_memory_100k:weft")->Iterations(1)->Repetitions(1);
#ifdef WEFT_BENCH_WITH_CAF
WEFT_ACTOR_BENCH(ping_pong_caf, "ping_pong_1M:caf");
WEFT_ACTOR_BENCH(fan_in_caf, "fan_in_1M:caf");
WEFT_ACTOR_BENCH(request_seq_caf, "request_seq_100k:caf");
WEFT_ACTOR_BENCH(request_burst_caf, "request_burst_100k:caf");
WEFT_ACTOR_BENCH(create_caf, "create_100k:caf");
WEFT_ACTOR_BENCH(idle_memory_caf, "idle_memory_100k:caf")->Iterations(1)->Repetitions(1);
#endif

WEFT_BENCHMARK_MAIN()
