// weft/errors.hpp: the hierarchy users catch.
#include "weft/errors.hpp"

#include <doctest/doctest.h>

#include <type_traits>

TEST_CASE("every weft error derives from weft::error and std::runtime_error") {
  static_assert(std::is_base_of_v<std::runtime_error, weft::error>);
  static_assert(std::is_base_of_v<weft::error, weft::timeout_error>);
  static_assert(std::is_base_of_v<weft::error, weft::cancelled_error>);
  static_assert(std::is_base_of_v<weft::error, weft::config_error>);
  try {
    throw weft::config_error("WEFT_THREADS='x' is bad");
  } catch (const weft::error& e) {
    CHECK(std::string(e.what()) == "WEFT_THREADS='x' is bad");
  }
}
