// The process-wide default runtime (weft::init) is shut down by a static destructor when main
// returns; this program checks that it then ends cleanly. It is its own executable (not a
// doctest case) because what it tests happens after main: CTest fails it if the exit status
// is not 0, as happened when the exit handler reached weft's worker-limit registry after that
// registry's own static destructor had run (a double free).
#include "weft/runtime.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace {
struct counter {
  int n = 0;
  int add(int by) { return n += by; }
};

bool expect(bool ok, const char* what) {
  if (!ok) std::fprintf(stderr, "init_exit_test: expected %s\n", what);
  return ok;
}
}  // namespace

int main() {
  bool ok = expect(!weft::is_initialized(), "no default runtime before init()");
  weft::runtime& rt = weft::init();
  ok = expect(weft::is_initialized(), "a default runtime after init()") && ok;
  ok = expect(&weft::init() == &rt && &weft::default_runtime() == &rt,
              "init() and default_runtime() to return the same runtime") &&
       ok;
  ok = expect(rt.submit([] { return 2; }).get() == 2, "a task's result") && ok;
  auto c = rt.spawn<counter>();
  ok = expect(c.call(&counter::add, 5).get() == 5, "an actor call's result") && ok;
  auto data = rt.put(std::vector<int>(1000, 1));
  ok = expect(data.get().size() == 1000, "a put object") && ok;
  // Work still queued when main returns: the exit handler's shutdown must deal with it too.
  for (int i = 0; i < 100; ++i)
    c.call(&counter::add, 1);
  return ok ? 0 : 1;
}
