// A program built against weft from outside its source tree: a task graph, an actor and an
// arena object.
#include <weft/weft.hpp>

#include <cstdio>
#include <vector>

namespace {
struct accumulator {
  int total = 0;
  int add(int x) { return total += x; }
};
}  // namespace

int main() {
  weft::runtime rt{weft::config{.threads = 2}};
  auto a = rt.submit([] { return 20; });
  auto b = rt.submit([](int x) { return x + 22; }, a);
  auto acc = rt.spawn<accumulator>();
  acc.call(&accumulator::add, 40);
  int v = acc.call(&accumulator::add, b).get() - 40;
  auto numbers = rt.put(std::vector<int>{1, 2, 3});
  int sum = rt.submit([](const std::vector<int>& n) { return n[0] + n[1] + n[2]; }, numbers).get();
  std::printf("consumer: %d, %d\n", v, sum);
  return v == 42 && sum == 6 ? 0 : 1;
}
