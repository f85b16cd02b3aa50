// weft/get.hpp: the values of many refs at once.
#include "weft/get.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "weft/runtime.hpp"

TEST_CASE("get(refs) returns the values in input order") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::vector<weft::ref<int>> refs;
  for (int i = 0; i < 100; ++i)
    refs.push_back(rt.submit([i] { return i * i; }));
  const std::vector<int> values = weft::get(refs);
  REQUIRE(values.size() == 100);
  for (int i = 0; i < 100; ++i)
    CHECK(values[static_cast<std::size_t>(i)] == i * i);
  CHECK(refs[7].get() == 49);  // the refs stay readable
  CHECK(weft::get(std::vector<weft::ref<int>>{}).empty());
}

TEST_CASE("get(refs) rethrows the first failure in input order, with its type") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::vector<weft::ref<std::string>> refs{
      rt.submit([] { return std::string("fine"); }),
      rt.submit([]() -> std::string { throw std::out_of_range("second"); }),
      rt.submit([]() -> std::string { throw std::invalid_argument("third"); })};
  CHECK_THROWS_WITH_AS(weft::get(refs), "second", std::out_of_range);
  std::vector<weft::ref<void>> voids{rt.submit([] {}),
                                     rt.submit([] { throw std::runtime_error("void failed"); })};
  CHECK_THROWS_WITH_AS(weft::get(voids), "void failed", std::runtime_error);
  CHECK_THROWS_AS(weft::get(std::vector<weft::ref<int>>{weft::ref<int>{}}), weft::error);
}

TEST_CASE("get on an rvalue vector moves values no other ref shares") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::vector<weft::ref<std::vector<int>>> refs;
  for (int i = 0; i < 4; ++i)
    refs.push_back(rt.submit([i] { return std::vector<int>(1000, i); }));
  weft::ref<std::vector<int>> shared = refs[2];
  const auto values = weft::get(std::move(refs));
  REQUIRE(values.size() == 4);
  CHECK(values[2] == std::vector<int>(1000, 2));
  CHECK(shared.get() == std::vector<int>(1000, 2));  // copied, not moved, for the shared one
}
