// A task graph that builds itself while it runs: a parallel merge sort in which each task
// decides whether to sort its slice directly or to split it into two sub-tasks and a merge.
// A task that returns a ref hands its caller the merge's result without blocking any thread.
#include <weft/weft.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

namespace {

using values = std::vector<std::uint32_t>;

// Slices below this size are sorted directly; above it the task splits.
constexpr std::size_t cutoff = 1 << 14;

values merged(const values& a, const values& b) {
  values out(a.size() + b.size());
  std::merge(a.begin(), a.end(), b.begin(), b.end(), out.begin());
  return out;
}

// Sorts data[begin, end) as a graph of tasks; the returned ref completes with the sorted slice.
weft::ref<values> sort_slice(weft::runtime& rt, std::shared_ptr<const values> data,
                             std::size_t begin, std::size_t end) {
  return rt.submit([&rt, data, begin, end]() -> weft::ref<values> {
    if (end - begin <= cutoff) {
      values part(data->begin() + static_cast<std::ptrdiff_t>(begin),
                  data->begin() + static_cast<std::ptrdiff_t>(end));
      std::sort(part.begin(), part.end());
      return weft::make_ready_ref(std::move(part));
    }
    std::size_t mid = begin + (end - begin) / 2;
    auto left = sort_slice(rt, data, begin, mid);
    auto right = sort_slice(rt, data, mid, end);
    return rt.submit(merged, left, right);  // a dependency edge on both halves
  });
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 4'000'000;
  if (n == 0) {
    std::fprintf(stderr, "usage: task_graph [element count > 0]\n");
    return 2;
  }
  std::mt19937 rng(42);
  auto data = std::make_shared<values>(n);
  for (auto& v : *data)
    v = rng();

  weft::runtime rt{weft::config::from_env()};
  auto start = std::chrono::steady_clock::now();
  weft::ref<values> sorted = sort_slice(rt, data, 0, n);
  const values& result = sorted.get();
  double parallel = seconds_since(start);

  start = std::chrono::steady_clock::now();
  values serial = *data;
  std::sort(serial.begin(), serial.end());
  double baseline = seconds_since(start);

  bool ok = result == serial;
  std::printf(
      "merge sort of %zu values on %u threads: %.3f s (std::sort: %.3f s, speedup %.2fx), "
      "%llu tasks, result %s\n",
      n, rt.threads(), parallel, baseline, baseline / parallel,
      static_cast<unsigned long long>(rt.stats().submitted), ok ? "correct" : "WRONG");
  return ok ? 0 : 1;
}
