// A program built against weft from outside its source tree: a task graph and an actor.
#include <weft/weft.hpp>

#include <cstdio>

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
  std::printf("consumer: %d\n", v);
  return v == 42 ? 0 : 1;
}
