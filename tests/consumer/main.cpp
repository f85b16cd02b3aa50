// A program built against weft from outside its source tree.
#include <weft/weft.hpp>

#include <cstdio>

int main() {
  weft::runtime rt{weft::config{.threads = 2}};
  auto a = rt.submit([] { return 20; });
  auto b = rt.submit([](int x) { return x + 22; }, a);
  int v = b.get();
  std::printf("consumer: %d\n", v);
  return v == 42 ? 0 : 1;
}
