// Tests of weft/actor_pool.hpp: order of map results, spreading of work, errors.
#include "weft/actor_pool.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/flag.hpp"
#include "weft/runtime.hpp"

namespace {

// Doubles its input and remembers how many calls it served.
struct doubler {
  int served = 0;
  int twice(int x) {
    ++served;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    return 2 * x;
  }
  int count() const { return served; }
};

}  // namespace

TEST_CASE("map returns results in input order") {
  weft::runtime rt{weft::config{.threads = 2}};
  weft::actor_pool<doubler> pool(rt, 4);
  std::vector<int> inputs;
  for (int i = 0; i < 500; ++i)
    inputs.push_back(i);
  auto results = pool.map(&doubler::twice, inputs);
  REQUIRE(results.size() == inputs.size());
  for (std::size_t i = 0; i < results.size(); ++i)
    CHECK(results[i].get() == 2 * inputs[i]);
}

TEST_CASE("work spreads over every member") {
  weft::runtime rt{weft::config{.threads = 2}};
  weft::actor_pool<doubler> pool(rt, 10);
  std::vector<weft::ref<int>> refs;
  for (int i = 0; i < 1000; ++i)
    refs.push_back(pool.submit(&doubler::twice, i));
  for (auto& r : refs)
    r.get();
  int total = 0;
  for (const auto& m : pool.members()) {
    int served = m.call(&doubler::count).get();
    CHECK(served > 0);
    total += served;
  }
  CHECK(total == 1000);
}

TEST_CASE("an idle member is preferred over a busy one") {
  weft::runtime rt{weft::config{.threads = 2}};
  weft::actor_pool<doubler> pool(rt, 2);
  const auto& busy = pool.members()[0];
  const auto& idle = pool.members()[1];
  std::atomic<bool> release{false};
  auto blocker = busy.call([&](doubler&) { weft_test::wait_for_flag(release); });
  for (int i = 0; i < 10; ++i) {
    // Let the idle member's bookkeeping of its previous call settle (load is a snapshot).
    for (int k = 0; k < 5000 && idle.pending_calls() != 0; ++k)
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    CHECK(pool.submit(&doubler::twice, i).get_for(std::chrono::seconds(10)) == 2 * i);
  }
  CHECK(idle.call(&doubler::count).get() == 10);
  release = true;
  blocker.get();
  CHECK(busy.call(&doubler::count).get() == 0);
}

TEST_CASE("named pools name their members; a pool of zero is refused") {
  weft::runtime rt{weft::config{.threads = 2}};
  weft::actor_pool<doubler> pool(rt, 3, weft::actor_options{.name = "dbl"});
  CHECK(pool.size() == 3);
  CHECK(rt.get_actor<doubler>("dbl-2") == pool.members()[2]);
  CHECK_THROWS_WITH_AS(weft::actor_pool<doubler>(rt, 0), doctest::Contains("at least 1"),
                       weft::error);
}
