// The 15-line in-process program of benchmarks/README.md's "compile cost" section.
#include <weft/weft.hpp>

struct counter {
  int total = 0;
  int add(int n) { return total += n; }
};

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
