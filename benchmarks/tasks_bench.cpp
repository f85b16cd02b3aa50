// Task overhead: 1,000,000 independent empty tasks submitted from one thread then awaited,
// and a 1,000,000-link dependent chain; each beside the same workload on raw
// tbb::task_group. Also the memory of tasks pending on one unresolved ref.
#include <benchmark/benchmark.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#include <weft/weft.hpp>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>
#include <vector>

#include "common/ratio_reporter.hpp"

namespace {

constexpr int task_count = 1'000'000;

unsigned bench_threads() {
  return std::thread::hardware_concurrency();
}

void independent_weft(benchmark::State& state) {
  weft::runtime rt{weft::config{.threads = bench_threads()}};
  std::vector<weft::ref<void>> refs;
  refs.reserve(task_count);
  for (auto _ : state) {
    refs.clear();
    for (int i = 0; i < task_count; ++i)
      refs.push_back(rt.submit([] {}));
    for (auto& r : refs)
      r.get();
  }
  state.SetItemsProcessed(state.iterations() * task_count);
}

void independent_tbb(benchmark::State& state) {
  tbb::task_arena arena(static_cast<int>(bench_threads()));
  for (auto _ : state) {
    arena.execute([] {
      tbb::task_group tg;
      for (int i = 0; i < task_count; ++i)
        tg.run([] {});
      tg.wait();
    });
  }
  state.SetItemsProcessed(state.iterations() * task_count);
}

void chain_weft(benchmark::State& state) {
  weft::runtime rt{weft::config{.threads = bench_threads()}};
  for (auto _ : state) {
    weft::ref<int> r = rt.submit([] { return 0; });
    for (int i = 1; i < task_count; ++i)
      r = rt.submit([](int x) { return x + 1; }, r);
    if (r.get() != task_count - 1) state.SkipWithError("wrong chain result");
  }
  state.SetItemsProcessed(state.iterations() * task_count);
}

// The same chain on raw TBB: each link runs the next as a new task once it has its value.
struct tbb_chain {
  tbb::task_group& tg;
  std::atomic<int>& out;
  void operator()(int x, int remaining) const {
    if (remaining == 0) {
      out = x;
      return;
    }
    tg.run([this, x, remaining] { (*this)(x + 1, remaining - 1); });
  }
};

void chain_tbb(benchmark::State& state) {
  tbb::task_arena arena(static_cast<int>(bench_threads()));
  for (auto _ : state) {
    std::atomic<int> out{-1};
    arena.execute([&] {
      tbb::task_group tg;
      tbb_chain chain{tg, out};
      tg.run([&] { chain(0, task_count - 1); });
      tg.wait();
    });
    if (out.load() != task_count - 1) state.SkipWithError("wrong chain result");
  }
  state.SetItemsProcessed(state.iterations() * task_count);
}

// Resident memory in bytes, from /proc/self/statm.
long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0;
  long resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

void pending_memory_weft(benchmark::State& state) {
  weft::runtime rt{weft::config{.threads = bench_threads()}};
  for (auto _ : state) {
    std::atomic<bool> release{false};
    weft::ref<int> gate = rt.submit([&] {
      while (!release.load())
        std::this_thread::yield();
      return 1;
    });
    std::vector<weft::ref<int>> refs;
    refs.reserve(task_count);
    long before = resident_bytes();
    for (int i = 0; i < task_count; ++i)
      refs.push_back(rt.submit([](int x) { return x; }, gate));
    long after = resident_bytes();
    // The refs vector was reserved before measuring, so the delta is the task records alone.
    state.counters["bytes_per_pending_task"] = static_cast<double>(after - before) / task_count;
    release = true;
    for (auto& r : refs)
      r.get();
  }
}

}  // namespace

BENCHMARK(independent_weft)
    ->Name("independent_1M:weft")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(independent_tbb)
    ->Name("independent_1M:tbb")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(chain_weft)->Name("chain_1M:weft")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(chain_tbb)->Name("chain_1M:tbb")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(pending_memory_weft)
    ->Name("pending_memory_1M:weft")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();

WEFT_BENCHMARK_MAIN()
