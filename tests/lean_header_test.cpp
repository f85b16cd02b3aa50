// weft/weft.hpp is the lean header: a program that includes only it compiles no serialization
// library, and still gets the in-process API. A codec registered in another translation unit
// of the same program (lean_header_codecs.cpp, which includes weft/remote.hpp) is the one this
// unit's arena uses: the codec slot is one variable for the whole program.
#include "weft/weft.hpp"

#ifdef CEREAL_CEREAL_HPP_
#error "weft/weft.hpp brought cereal into an in-process program"
#endif

#include <doctest/doctest.h>

#include "temp_dir.hpp"

#include <chrono>
#include <list>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace {

struct counter {
  int total = 0;
  int add(int n) { return total += n; }
};

// A type that only lean_header_codecs.cpp gives a codec.
using scores = std::map<int, std::string>;

scores make_scores(int seed) {
  scores s;
  for (int k = 0; k < 64; ++k)
    s[k] = std::string(1024, static_cast<char>('a' + (seed + k) % 26));
  return s;
}

}  // namespace

namespace weft {
template <>
struct object_size<scores> {
  static std::size_t of(const scores& s) noexcept { return s.size() * (1024 + 64); }
};
}  // namespace weft

TEST_CASE("the lean header gives tasks, actors and the arena") {
  weft::runtime rt{weft::config{.threads = 2}};
  auto square = [](int x) { return x * x; };
  auto a = rt.submit(square, 3), b = rt.submit(square, 4);
  auto sum = rt.submit([](int x, int y) { return x + y; }, a, b);
  auto c = rt.spawn<counter>();
  auto shared = rt.put(std::vector<int>(1000, 1));
  CHECK(sum.get() == 25);
  CHECK(c.call(&counter::add, 2).get() == 2);
  CHECK(c.call(&counter::add, 5).get() == 7);
  CHECK(shared.get().size() == 1000);
}

TEST_CASE("a codec registered in another translation unit spills this unit's objects") {
  weft_test::temp_dir dir("weft-lean-test");
  {
    weft::config cfg;
    cfg.threads = 2;
    cfg.arena_bytes = 1 << 20;
    cfg.spill_dir = dir.path.string();
    weft::runtime rt(cfg);
    std::vector<weft::ref<scores>> refs;
    for (int i = 0; i < 48; ++i)  // ~3.3 MB against a 1 MiB budget
      refs.push_back(rt.put(make_scores(i)));
    for (int i = 0; i < 200 && rt.arena_stats().bytes_in_memory > rt.arena_stats().budget; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(rt.arena_stats().spills > 0);
    for (int i = 0; i < 48; ++i)
      CHECK(*refs[i].share() == make_scores(i));
    CHECK(rt.arena_stats().restores > 0);
  }
}

TEST_CASE("a type nobody gave a codec cannot be encoded, and the error says what to do") {
  weft::detail::encoded_value out;
  const std::list<int> values{1, 2, 3};
  CHECK_FALSE(weft::detail::has_codec<std::list<int>>());
  try {
    weft::detail::encode(values, out);
    FAIL("a std::list<int> was encoded without a codec");
  } catch (const weft::error& e) {
    const std::string what = e.what();
    CHECK(what.find("no codec for type std::__cxx11::list<int") != std::string::npos);
    CHECK(what.find("WEFT_SERIALIZABLE(std::__cxx11::list<int") != std::string::npos);
    CHECK(what.find("<weft/remote.hpp>") != std::string::npos);
  }
  CHECK(out.pieces.empty());
}
