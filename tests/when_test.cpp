// weft/when.hpp: when_all and when_any.
#include "weft/when.hpp"

#include <doctest/doctest.h>

#include "support/flag.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "weft/runtime.hpp"

using namespace std::chrono_literals;

TEST_CASE("when_all over a vector completes after every input, keeping errors in place") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::vector<weft::ref<int>> refs;
  for (int i = 0; i < 100; ++i) {
    refs.push_back(rt.submit([i] {
      if (i == 50) throw std::out_of_range("fifty");
      return i;
    }));
  }
  auto all = weft::when_all(refs);
  const auto& done = all.get();
  REQUIRE(done.size() == 100);
  int sum = 0;
  for (std::size_t i = 0; i < done.size(); ++i) {
    CHECK(done[i].ready());
    CHECK(done[i] == refs[i]);
    if (i == 50)
      CHECK_THROWS_AS(done[i].get(), std::out_of_range);
    else
      sum += done[i].get();
  }
  CHECK(sum == 4950 - 50);
}

TEST_CASE("when_all of nothing is ready at once") {
  auto all = weft::when_all(std::vector<weft::ref<int>>{});
  CHECK(all.ready());
  CHECK(all.get().empty());
}

TEST_CASE("variadic when_all gives a tuple of the input refs, and then() runs after it") {
  weft::runtime rt;
  auto a = rt.submit([] { return 2; });
  auto b = rt.submit([] { return std::string("x"); });
  auto both = weft::when_all(a, b);
  auto [ra, rb] = both.get();
  CHECK(ra.get() == 2);
  CHECK(rb.get() == "x");
  auto joined = both.then([](const std::tuple<weft::ref<int>, weft::ref<std::string>>& t) {
    return std::get<1>(t).get() + std::to_string(std::get<0>(t).get());
  });
  CHECK(joined.get() == "x2");
}

TEST_CASE("when_any gives the index of the first input to complete") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::atomic<bool> release{false};
  std::vector<weft::ref<int>> refs;
  refs.push_back(rt.submit([&] {
    weft_test::wait_for_flag(release);
    return 0;
  }));
  refs.push_back(rt.submit([] { return 1; }));
  CHECK(weft::when_any(refs).get() == 1);
  release = true;
  refs[0].get();
  CHECK_THROWS_WITH_AS(weft::when_any(std::vector<weft::ref<int>>{}),
                       "when_any: needs at least one ref", weft::error);
  CHECK_THROWS_AS(weft::when_all(std::vector<weft::ref<int>>{weft::ref<int>{}}), weft::error);
}
