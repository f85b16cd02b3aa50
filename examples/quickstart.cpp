// The quickstart: tasks that return refs, refs as arguments (dependencies), an error caught
// where the value is read, and waiting for the first results of a batch. The same program
// runs on a cluster by configuration alone (examples/cluster/run.sh).
#include <weft/remote.hpp>  // WEFT_REMOTE; in-process programs need only weft.hpp
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>
#include <vector>

int add(int a, int b) {
  return a + b;
}
WEFT_REMOTE(add);  // names it for the cluster; nothing changes in-process

int checked_sqrt(int x) {
  if (x < 0) throw std::domain_error("checked_sqrt of a negative number");
  int r = 0;
  while ((r + 1) * (r + 1) <= x)
    ++r;
  return r;
}
WEFT_REMOTE(checked_sqrt);

int main() {
  // In-process unless WEFT_ADDRESS is set; with WEFT_ROLE=worker this line serves a cluster.
  weft::runtime rt{weft::config::from_env()};

  // A task, and a task that depends on it: `a` is passed as a ref, the task gets the int.
  weft::ref<int> a = rt.submit(add, 1, 2);
  weft::ref<int> b = rt.submit(add, a, 10);
  std::printf("add(add(1, 2), 10) = %d\n", b.get());

  // A diamond: two tasks read `b`, a third joins them.
  auto left = rt.submit([](int x) { return x * 2; }, b);
  auto right = rt.submit([](int x) { return x * 3; }, b);
  auto joined = rt.submit(add, left, right);
  std::printf("diamond: %d * 2 + %d * 3 = %d\n", b.get(), b.get(), joined.get());

  // An exception travels to every dependent; none of them runs.
  auto bad = rt.submit(checked_sqrt, -4);
  auto after_bad = rt.submit(add, bad, 1);
  try {
    after_bad.get();
  } catch (const std::domain_error& e) {
    std::printf("caught from a dependent: %s\n", e.what());
  } catch (const weft::task_error& e) {  // it ran in another process of a cluster
    std::printf("caught from a dependent: %s\n", e.message().c_str());
  }

  // Continuations, and a retrying task that fails twice before it succeeds.
  auto squared = b.then([](int x) { return x * x; });
  int attempts = 0;
  weft::task_options retry{.retries = 2, .name = "flaky"};
  auto flaky = rt.submit(retry, [&attempts] {
    if (++attempts < 3) throw std::runtime_error("transient");
    return attempts;
  });
  std::printf("then: %d, flaky succeeded on attempt %d\n", squared.get(), flaky.get());

  // Wait for the first 3 of 8 tasks of different lengths, like Ray's wait.
  std::vector<weft::ref<int>> batch;
  for (int i = 0; i < 8; ++i) {
    batch.push_back(rt.submit([i] {
      std::this_thread::sleep_for(std::chrono::milliseconds(10 * i));
      return i;
    }));
  }
  auto first = rt.wait(batch, 3, std::chrono::seconds(5));
  std::printf("wait: %zu ready, %zu pending; first ready value %d\n", first.ready.size(),
              first.pending.size(), first.ready.front().get());

  int total = 0;
  weft::ref<std::vector<weft::ref<int>>> all = weft::when_all(batch);
  for (const weft::ref<int>& r : all.get())
    total += r.get();
  std::printf("when_all: sum of 0..7 = %d\n", total);
  return 0;
}
