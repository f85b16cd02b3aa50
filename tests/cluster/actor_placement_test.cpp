// Where actors go in a cluster and how their names behave, with runtimes of one process on
// 127.0.0.1: placement counts what running actors hold on each node, detached actors of a
// driver outlive it on a worker, get_or_spawn of an ending actor waits for its end and spawns
// anew, and the cluster's resources are visible from the API.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "cluster_member.hpp"
#include "process.hpp"
#include "support/flag.hpp"
#include "weft/remote.hpp"
#include "weft/runtime.hpp"

using namespace std::chrono_literals;
using weft_test::free_port;

namespace {

// Holds `vector_unit` for its life.
class vector_job {
 public:
  std::string home() const { return weft::current_node_id(); }
};

// A named registry of the library scenario; `slow` keeps it busy while its end is pending.
class registry {
 public:
  int visit() { return ++visits_; }
  int slow(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return visits_;
  }
  std::string home() const { return weft::current_node_id(); }

 private:
  int visits_ = 0;
};

weft::config member(weft::node_role role, const std::string& address, int threshold = 0) {
  return weft_test::cluster_member(role, address, threshold);
}

// Waits (bounded) until `rt` sees `resource` at `units` available over the cluster.
bool wait_available(const weft::runtime& rt, const std::string& resource, std::int64_t units) {
  for (int i = 0; i < 500; ++i) {
    const weft::resource_map available = rt.available_resources();
    auto found = available.find(resource);
    if ((found == available.end() ? 0 : found->second) == units) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace

WEFT_ACTOR(vector_job, &vector_job::home);
WEFT_ACTOR(registry, &registry::visit, &registry::slow, &registry::home);

TEST_CASE("placement counts the resources actors hold on each node") {
  const std::string address = "127.0.0.1:" + std::to_string(free_port());
  weft::runtime head{member(weft::node_role::head, address)};
  weft::config one = member(weft::node_role::worker, address);
  one.resources = {{"vector_unit", 1}};
  weft::runtime worker_1{one};
  weft::config three = member(weft::node_role::worker, address);
  three.resources = {{"vector_unit", 3}};
  weft::runtime worker_2{three};
  weft::runtime driver{member(weft::node_role::driver, address)};
  REQUIRE(wait_available(driver, "vector_unit", 4));
  CHECK(driver.cluster_resources().at("vector_unit") == 4);

  // Four actors of one unit each, spawned at once: all start, one on worker-1 and three on
  // worker-2 (placing by load alone put a second one on worker-1, where it never started).
  const weft::actor_options needs{.resources = {{"vector_unit", 1}}};
  std::vector<weft::actor<vector_job>> jobs;
  for (int i = 0; i < 4; ++i)
    jobs.push_back(driver.spawn<vector_job>(needs));
  std::map<std::string, int> where;
  for (auto& job : jobs)
    ++where[job.call(&vector_job::home).get_for(30s)];
  CHECK(where == std::map<std::string, int>{{"worker-1", 1}, {"worker-2", 3}});
  CHECK(wait_available(driver, "vector_unit", 0));
  const auto nodes = driver.nodes();
  REQUIRE(nodes.size() == 4);
  CHECK(nodes[1].available.at("vector_unit") == 0);
  CHECK(nodes[2].available.at("vector_unit") == 0);
  CHECK(nodes[2].heartbeats > 0);

  // A fifth finds no unit free anywhere: it is placed where there is capacity (with a warning
  // in the log naming the nodes) and starts when a unit is released there.
  auto fifth = driver.spawn<vector_job>(needs);
  auto fifth_home = fifth.call(&vector_job::home);
  std::this_thread::sleep_for(100ms);
  CHECK_FALSE(fifth_home.ready());
  for (auto& job : jobs)
    driver.kill(job);
  CHECK_FALSE(fifth_home.get_for(30s).empty());

  driver.shutdown();
  worker_2.shutdown();
  worker_1.shutdown();
  head.shutdown();
}

TEST_CASE("a driver's detached actor lives on a worker and outlives the driver") {
  const std::string address = "127.0.0.1:" + std::to_string(free_port());
  weft::runtime head{member(weft::node_role::head, address)};
  weft::runtime worker{member(weft::node_role::worker, address)};
  {
    // Default placement (the local threshold is not 0): a non-detached actor stays here, a
    // detached one goes to the worker.
    weft::runtime first{member(weft::node_role::driver, address, -1)};
    auto mine = first.spawn<registry>();
    CHECK(mine.call(&registry::home).get_for(30s) == first.node_id());
    auto shared = first.spawn<registry>(weft::actor_options{
        .name = "registry", .namespace_ = "lib", .lifetime = weft::lifetime::detached});
    CHECK(shared.call(&registry::home).get_for(30s) == "worker-1");
    CHECK(shared.call(&registry::visit).get_for(30s) == 1);
  }  // the first driver is gone
  weft::runtime second{member(weft::node_role::driver, address, -1)};
  auto found = second.get_actor<registry>("registry", "lib");
  CHECK(found.call(&registry::visit).get_for(30s) == 2);
  second.kill(found);

  second.shutdown();
  worker.shutdown();
  head.shutdown();
}

TEST_CASE("get_or_spawn of a named actor that is ending waits for its end and spawns anew") {
  const std::string address = "127.0.0.1:" + std::to_string(free_port());
  weft::runtime head{member(weft::node_role::head, address)};
  weft::runtime worker{member(weft::node_role::worker, address)};
  weft::runtime driver{member(weft::node_role::driver, address)};
  weft::runtime other{member(weft::node_role::driver, address)};

  // Here: the last handle goes while a call still runs, so the actor is ending (its name is
  // still taken at the head until it has ended).
  auto ending =
      driver.spawn<registry>(weft::actor_options{.name = "local-one", .node = driver.node_id()});
  REQUIRE(ending.call(&registry::visit).get_for(30s) == 1);
  auto busy = ending.call(&registry::slow, 300);
  ending = {};
  auto renewed = driver.get_or_spawn<registry>(
      weft::actor_options{.name = "local-one", .node = driver.node_id()});
  CHECK(busy.get_for(30s) == 1);
  CHECK(renewed.call(&registry::visit).get_for(30s) == 1);  // a new instance

  // On a worker: another driver kills it, and get_or_spawn right after finds it ending.
  for (int round = 0; round < 5; ++round) {
    auto served = driver.spawn<registry>(weft::actor_options{
        .name = "remote-one", .lifetime = weft::lifetime::detached, .node = "worker-1"});
    REQUIRE(served.call(&registry::visit).get_for(30s) == 1);
    auto there = other.get_actor<registry>("remote-one");
    other.kill(there);
    auto again = other.get_or_spawn<registry>(weft::actor_options{
        .name = "remote-one", .lifetime = weft::lifetime::detached, .node = "worker-1"});
    CHECK(again.call(&registry::visit).get_for(30s) == 1);
    other.kill(again);
    for (int i = 0; i < 300; ++i) {  // the name is free once the kill has reached the head
      try {
        other.get_actor<registry>("remote-one");
      } catch (const weft::error&) {
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
  }

  other.shutdown();
  driver.shutdown();
  worker.shutdown();
  head.shutdown();
}
