// The same program with the opt-in registration header (benchmarks/README.md, "compile cost").
#include <weft/remote.hpp>
#include <weft/weft.hpp>

struct counter {
  int total = 0;
  int add(int n) { return total += n; }
};
WEFT_ACTOR(counter, &counter::add);

int main() {
  weft::runtime rt;
  auto square = [](int x) { return x * x; };
  auto a = rt.submit(square, 3), b = rt.submit(square, 4);
  auto sum = rt.submit([](int x, int y) { return x + y; }, a, b);
  auto c = rt.spawn<counter>();
  auto shared = rt.put(std::vector<int>(1000, 1));
  const auto size = static_cast<int>(shared.get().size());
  return sum.get() + c.call(&counter::add, 2).get() + size == 1027 ? 0 : 1;
}
