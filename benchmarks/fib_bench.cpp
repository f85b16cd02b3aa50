// fib(30) with one task per call, through weft refs and through raw tbb::task_group, with and
// without a serial cutoff below n = 20. Both use the same shape: run one child as a task,
// compute the other inline, then wait for the child.
#include <benchmark/benchmark.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#include <weft/weft.hpp>

#include <cstdint>
#include <thread>

#include "common/ratio_reporter.hpp"

namespace {

std::uint64_t fib_serial(int n) {
  return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2);
}

std::uint64_t fib_weft(weft::runtime& rt, int n, int cutoff) {
  if (n < cutoff) return fib_serial(n);
  if (n < 2) return n;
  auto a = rt.submit([&rt, n, cutoff] { return fib_weft(rt, n - 1, cutoff); });
  std::uint64_t b = fib_weft(rt, n - 2, cutoff);
  return a.get() + b;
}

std::uint64_t fib_tbb(int n, int cutoff) {
  if (n < cutoff) return fib_serial(n);
  if (n < 2) return n;
  std::uint64_t a = 0;
  tbb::task_group tg;
  tg.run([&] { a = fib_tbb(n - 1, cutoff); });
  std::uint64_t b = fib_tbb(n - 2, cutoff);
  tg.wait();
  return a + b;
}

constexpr int n = 30;
constexpr std::uint64_t expected = 832040;

void fib_on_weft(benchmark::State& state) {
  int cutoff = static_cast<int>(state.range(0));
  weft::runtime rt{weft::config{.threads = std::thread::hardware_concurrency()}};
  for (auto _ : state) {
    auto r = rt.submit([&rt, cutoff] { return fib_weft(rt, n, cutoff); });
    if (r.get() != expected) state.SkipWithError("wrong fib");
  }
}

void fib_on_tbb(benchmark::State& state) {
  int cutoff = static_cast<int>(state.range(0));
  tbb::task_arena arena(static_cast<int>(std::thread::hardware_concurrency()));
  for (auto _ : state) {
    std::uint64_t v = 0;
    arena.execute([&] { v = fib_tbb(n, cutoff); });
    if (v != expected) state.SkipWithError("wrong fib");
  }
}

}  // namespace

BENCHMARK(fib_on_weft)
    ->Name("fib30:weft")
    ->Arg(0)
    ->Arg(20)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(fib_on_tbb)
    ->Name("fib30:tbb")
    ->Arg(0)
    ->Arg(20)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

WEFT_BENCHMARK_MAIN()
