// What arguments become between nodes, with a head, workers and drivers as runtimes of one
// process on 127.0.0.1 (every thread visible to the sanitizers): refs inside values, refs the
// receiving node resolves itself (calls to remote actors are sent at their turn, not when
// their refs are ready), refs as constructor arguments, and a put object pulled once per node
// however many tasks read it. Actor handles inside arguments: handle_passing_test.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <numeric>
#include <stdexcept>
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

int square(int x) {
  return x * x;
}
int sum_refs(const std::vector<weft::ref<int>>& refs) {
  int total = 0;
  for (const auto& r : refs)
    total += r.get();
  return total;
}
std::string failures_among(const std::vector<weft::ref<int>>& refs) {
  std::string out;
  for (const auto& r : refs) {
    try {
      r.get();
    } catch (const weft::task_error& e) {
      out += e.type_name() + ":" + e.message() + ";";
    }
  }
  return out;
}
long weigh(const std::map<std::string, weft::ref<std::vector<int>>>& parts) {
  long total = 0;
  for (const auto& [name, part] : parts)
    total +=
        static_cast<long>(name.size()) * std::accumulate(part.get().begin(), part.get().end(), 0L);
  return total;
}
std::vector<int> ones(int n) {
  return std::vector<int>(static_cast<std::size_t>(n), 1);
}
// Reports how many objects this node has pulled so far, after reading `data`.
std::uint64_t pulls_after_reading(const std::vector<int>& data) {
  return data.empty() ? 0 : weft::current_arena_stats().pulls;
}

// A running total; its constructor may take a ref (the start value).
class counter {
 public:
  counter() = default;
  explicit counter(int start) : total_(start) {}
  int add(int x) { return total_ += x; }
  int total() const { return total_; }
  std::string home() const { return weft::current_node_id(); }

 private:
  int total_ = 0;
};

// Holds one unit of `vector_unit` for its life.
class vector_job {
 public:
  std::string home() const { return weft::current_node_id(); }
};

using weft_test::cluster_member;
weft::config member(weft::node_role role, const std::string& address) {
  return cluster_member(role, address);
}

weft::config worker_with(const std::string& address, weft::resource_map resources) {
  weft::config cfg = member(weft::node_role::worker, address);
  cfg.resources = std::move(resources);
  return cfg;
}

}  // namespace

WEFT_REMOTE(square);
WEFT_REMOTE(sum_refs);
WEFT_REMOTE(failures_among);
WEFT_REMOTE(weigh);
WEFT_REMOTE(ones);
WEFT_REMOTE(pulls_after_reading);
WEFT_ACTOR(counter, &counter::add, &counter::total, &counter::home);
WEFT_ACTOR(vector_job, &vector_job::home);

TEST_CASE("refs inside arguments travel as references and are resolved by the receiver") {
  const std::string address = "127.0.0.1:" + std::to_string(free_port());
  weft::runtime head{member(weft::node_role::head, address)};
  weft::runtime worker{member(weft::node_role::worker, address)};
  weft::runtime driver{member(weft::node_role::driver, address)};

  std::atomic<bool> release{false};
  std::vector<weft::ref<int>> refs;
  for (int i = 1; i <= 10; ++i)
    refs.push_back(driver.submit(square, i));  // computed on the worker
  refs.push_back(driver.put(1000));            // held here
  // Not ready when the task is sent: the worker asks this node for it and waits.
  refs.push_back(driver.submit([&release] {
    weft_test::wait_for_flag(release);
    return 5;
  }));
  auto sum = driver.submit(sum_refs, refs);
  std::this_thread::sleep_for(50ms);
  CHECK_FALSE(sum.ready());
  release = true;
  CHECK(sum.get_for(30s) == 385 + 1000 + 5);

  // A failed ref inside the vector arrives failed, with its type name and message.
  std::vector<weft::ref<int>> mixed{
      driver.submit(square, 3), driver.submit([]() -> int { throw std::out_of_range("nope"); })};
  CHECK(driver.submit(failures_among, mixed).get_for(30s) == "std::out_of_range:nope;");

  // Refs to large values inside a map: the worker pulls them.
  std::map<std::string, weft::ref<std::vector<int>>> parts{{"a", driver.put(ones(100000))},
                                                           {"bb", driver.submit(ones, 50000)}};
  CHECK(driver.submit(weigh, parts).get_for(30s) == 100000 + 2 * 50000);

  driver.shutdown();
  worker.shutdown();
  head.shutdown();
}

TEST_CASE("calls to a remote actor are sent at once; its node resolves their ref arguments") {
  const std::string address = "127.0.0.1:" + std::to_string(free_port());
  weft::runtime head{member(weft::node_role::head, address)};
  weft::runtime worker{member(weft::node_role::worker, address)};
  weft::runtime driver{member(weft::node_role::driver, address)};

  auto c = driver.spawn<counter>(weft::actor_options{.node = "worker-1"});
  REQUIRE(c.call(&counter::total).get_for(30s) == 0);
  std::atomic<bool> release{false};
  auto slow = driver.submit([&release] {
    weft_test::wait_for_flag(release);
    return 40;
  });
  auto first = c.call(&counter::add, slow);
  auto second = c.call(&counter::add, 2);
  // Both calls reach the worker while `slow` is still running here (before, the stand-in held
  // them until it was ready): they wait there, in order, counted as live work of the worker.
  bool arrived = false;
  for (int i = 0; i < 1000 && !arrived; ++i) {
    arrived = worker.stats().live >= 2;
    if (!arrived) std::this_thread::sleep_for(10ms);
  }
  CHECK(arrived);
  CHECK_FALSE(first.ready());
  CHECK_FALSE(second.ready());
  release = true;
  CHECK(first.get_for(30s) == 40);
  CHECK(second.get_for(30s) == 42);

  // A ref argument that fails: the call fails with that ref's own exception, as in-process,
  // and the actor lives on.
  auto bad = driver.submit([]() -> int { throw std::invalid_argument("bad input"); });
  CHECK_THROWS_WITH_AS(c.call(&counter::add, bad).get_for(30s), "bad input", std::invalid_argument);
  CHECK(c.call(&counter::total).get_for(30s) == 42);

  // Many calls with ref arguments from remote tasks, in order.
  std::vector<weft::ref<int>> totals;
  for (int i = 1; i <= 200; ++i)
    totals.push_back(c.call(&counter::add, driver.submit(square, i % 3)));
  int expected = 42;
  for (int i = 1; i <= 200; ++i) {
    expected += (i % 3) * (i % 3);
    CHECK(totals[static_cast<std::size_t>(i - 1)].get_for(30s) == expected);
  }

  driver.shutdown();
  worker.shutdown();
  head.shutdown();
}

TEST_CASE("a ref as constructor argument travels; the actor goes where its resources are") {
  const std::string address = "127.0.0.1:" + std::to_string(free_port());
  weft::runtime head{member(weft::node_role::head, address)};
  weft::runtime worker{worker_with(address, {{"graph_unit", 1}})};
  weft::runtime driver{member(weft::node_role::driver, address)};

  std::atomic<bool> release{false};
  auto start = driver.submit([&release] {
    weft_test::wait_for_flag(release);
    return 7;
  });
  auto c = driver.spawn<counter>(weft::actor_options{.resources = {{"graph_unit", 1}}}, start);
  auto home = c.call(&counter::home);
  auto added = c.call(&counter::add, 1);
  std::this_thread::sleep_for(50ms);
  CHECK_FALSE(added.ready());  // built once its argument is here
  release = true;
  CHECK(home.get_for(30s) == "worker-1");
  CHECK(added.get_for(30s) == 8);

  // A constructor argument that fails: the actor dies, saying why.
  auto broken = driver.submit([]() -> int { throw std::runtime_error("no start value"); });
  auto d = driver.spawn<counter>(weft::actor_options{.node = "worker-1"}, broken);
  CHECK_THROWS_WITH_AS(d.call(&counter::total).get_for(30s), doctest::Contains("no start value"),
                       weft::actor_died);

  driver.shutdown();
  worker.shutdown();
  head.shutdown();
}

TEST_CASE("a put object is pulled once per node, however many tasks there read it") {
  const std::string address = "127.0.0.1:" + std::to_string(free_port());
  weft::runtime head{member(weft::node_role::head, address)};
  weft::runtime worker{member(weft::node_role::worker, address)};
  weft::runtime driver{member(weft::node_role::driver, address)};

  auto data = driver.put(ones(1 << 20));  // 4 MiB: held here, pulled by the worker
  std::uint64_t last = 0;
  for (int i = 0; i < 20; ++i)
    last = driver.submit(pulls_after_reading, data).get_for(30s);
  CHECK(last == 1);
  CHECK(worker.arena_stats().pulls == 1);
  // Concurrent readers share the one pull too.
  std::vector<weft::ref<std::uint64_t>> together;
  for (int i = 0; i < 20; ++i)
    together.push_back(driver.submit(pulls_after_reading, data));
  for (auto& r : together)
    CHECK(r.get_for(30s) == 1);
  // Once the object is gone here, the worker drops its copy.
  const std::uint64_t objects_with_copy = worker.arena_stats().objects;
  data = {};
  bool dropped = false;
  for (int i = 0; i < 300 && !dropped; ++i) {
    dropped = worker.arena_stats().objects < objects_with_copy;
    if (!dropped) std::this_thread::sleep_for(10ms);
  }
  CHECK(dropped);

  driver.shutdown();
  worker.shutdown();
  head.shutdown();
}
