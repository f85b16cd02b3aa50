// Actor handles inside arguments, with runtimes of one process on 127.0.0.1: a distributor
// actor on one worker is given handles to shards on another worker and in the driver, and
// keeps them alive after the driver lets go of its own. Its method waits for the shards'
// answers inside the call (get() suspends the call's task), which ThreadSanitizer cannot
// follow through oneTBB's uninstrumented coroutine switches: this test is left out of the TSan
// run, like blocking_test.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "cluster_member.hpp"
#include "process.hpp"
#include "weft/remote.hpp"
#include "weft/runtime.hpp"

using namespace std::chrono_literals;
using weft_test::free_port;

namespace {

// A geometry shard and the distributor that fans work out to shards it was given handles to.
class shard {
 public:
  shard() = default;
  explicit shard(int weight) : weight_(weight) {}
  int area(int x) const { return weight_ * x; }
  std::string home() const { return weft::current_node_id(); }

 private:
  int weight_ = 1;
};

class distributor {
 public:
  distributor() = default;
  explicit distributor(std::vector<weft::actor<shard>> shards) : shards_(std::move(shards)) {}
  int total_area(int x) const {
    int total = 0;
    for (const auto& s : shards_)
      total += s.call(&shard::area, x).get();
    return total;
  }
  std::size_t size() const { return shards_.size(); }
  std::string home() const { return weft::current_node_id(); }

 private:
  std::vector<weft::actor<shard>> shards_;
};

// Takes large arguments, to keep a link busy.
class sink {
 public:
  std::size_t take(const std::vector<char>& bytes) const { return bytes.size(); }
};

weft::config member(weft::node_role role, const std::string& address) {
  return weft_test::cluster_member(role, address);
}

}  // namespace

WEFT_ACTOR(shard, &shard::area, &shard::home);
WEFT_ACTOR(distributor, &distributor::total_area, &distributor::size, &distributor::home);
WEFT_ACTOR(sink, &sink::take);
// The distributor's constructor argument (not a parameter of a registered method) gets its
// codec here, so that it can be spawned on another node.
WEFT_SERIALIZABLE(std::vector<weft::actor<shard>>);

TEST_CASE("actor handles inside arguments: a distributor on one worker drives shards elsewhere") {
  const std::string address = "127.0.0.1:" + std::to_string(free_port());
  weft::runtime head{member(weft::node_role::head, address)};
  weft::runtime worker_1{member(weft::node_role::worker, address)};
  weft::runtime worker_2{member(weft::node_role::worker, address)};
  weft::runtime driver{member(weft::node_role::driver, address)};

  {
    std::vector<weft::actor<shard>> shards;
    for (int w = 1; w <= 3; ++w)
      shards.push_back(driver.spawn<shard>(weft::actor_options{.node = "worker-1"}, w));
    // One shard lives in the driver itself (pinned there).
    shards.push_back(driver.spawn<shard>(weft::actor_options{.node = driver.node_id()}, 10));
    CHECK(shards[3].call(&shard::home).get() == driver.node_id());
    auto d = driver.spawn<distributor>(weft::actor_options{.node = "worker-2"}, shards);
    CHECK(d.call(&distributor::home).get_for(30s) == "worker-2");
    CHECK(d.call(&distributor::size).get_for(30s) == 4);
    CHECK(d.call(&distributor::total_area, 2).get_for(30s) == (1 + 2 + 3 + 10) * 2);
    shards.clear();  // the distributor's handles keep every shard alive
    for (int round = 0; round < 5; ++round) {
      std::this_thread::sleep_for(50ms);  // releases of the driver's handles arrive meanwhile
      CHECK(d.call(&distributor::total_area, round).get_for(30s) == 16 * round);
    }
    CHECK(worker_1.stats().actors == 3);
  }
  // The distributor's last handle is gone: it ends, and with it the shards' last handles.
  for (int i = 0; i < 300 && (worker_1.stats().actors != 0 || worker_2.stats().actors != 0); ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(worker_1.stats().actors == 0);
  CHECK(worker_2.stats().actors == 0);

  driver.shutdown();
  worker_2.shutdown();
  worker_1.shutdown();
  head.shutdown();
}

TEST_CASE("handles passed on before their actors' spawns reached the owner still work") {
  // The shards' spawns (and the grants after them) wait on the driver's link to worker-1
  // behind a large call, while the distributor's spawn leaves at once on the quiet link to
  // worker-2: worker-2 attaches to the shards on its own link to worker-1 before worker-1 has
  // them. Those attaches used to be answered "it ended", and every call through them failed.
  const std::string address = "127.0.0.1:" + std::to_string(free_port());
  weft::runtime head{member(weft::node_role::head, address)};
  weft::runtime worker_1{member(weft::node_role::worker, address)};
  weft::runtime worker_2{member(weft::node_role::worker, address)};
  weft::runtime driver{member(weft::node_role::driver, address)};
  auto busy_maker = driver.spawn<sink>(weft::actor_options{.node = "worker-1"});
  REQUIRE(busy_maker.call(&sink::take, std::vector<char>(8)).get_for(30s) == 8);
  constexpr std::size_t large = 48u << 20;
  for (int round = 1; round <= 3; ++round) {
    auto busy = busy_maker.call(&sink::take, std::vector<char>(large, 'x'));
    std::vector<weft::actor<shard>> shards;
    for (int w = 1; w <= 3; ++w)
      shards.push_back(driver.spawn<shard>(weft::actor_options{.node = "worker-1"}, w));
    auto d = driver.spawn<distributor>(weft::actor_options{.node = "worker-2"}, shards);
    shards.clear();
    CHECK(d.call(&distributor::total_area, round).get_for(60s) == 6 * round);
    CHECK(busy.get_for(60s) == large);
  }
  // Every distributor and shard ends with its last handle; the sink stays.
  for (int i = 0; i < 500 && (worker_1.stats().actors != 1 || worker_2.stats().actors != 0); ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(worker_1.stats().actors == 1);
  CHECK(worker_2.stats().actors == 0);
  driver.shutdown();
  worker_2.shutdown();
  worker_1.shutdown();
  head.shutdown();
}
