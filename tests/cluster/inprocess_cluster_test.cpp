// A head, a worker and a driver as three runtimes of one process, talking over 127.0.0.1:
// the cluster code paths under the sanitizers with every thread visible to them.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cluster_member.hpp"
#include "process.hpp"
#include "weft/bulk_allocator.hpp"
#include "weft/cluster.hpp"
#include "weft/remote.hpp"
#include "weft/runtime.hpp"

using weft_test::free_port;

namespace {

int square(int x) {
  return x * x;
}
std::string node_of(int) {
  return weft::current_node_id();
}
std::vector<int> iota_n(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}
long total(const std::vector<int>& v) {
  return std::accumulate(v.begin(), v.end(), 0L);
}
// 8 MiB of a known pattern in pooled memory (weft::bulk_vector), and its checksum.
weft::bulk_vector<std::uint32_t> pattern_block(std::uint32_t seed) {
  weft::bulk_vector<std::uint32_t> v(std::size_t{2} << 20);
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<std::uint32_t>(i) * 2654435761u + seed;
  return v;
}
std::uint64_t block_sum(const weft::bulk_vector<std::uint32_t>& v) {
  return std::accumulate(v.begin(), v.end(), std::uint64_t{0});
}
int refuse(int x) {
  throw std::logic_error("refused " + std::to_string(x));
}

weft::config member(weft::node_role role, const std::string& address) {
  return weft_test::cluster_member(role, address, 0, std::chrono::milliseconds(2000));
}

}  // namespace

namespace {

// A running total: the actor of the remote-actor cases.
class tally {
 public:
  tally() = default;
  explicit tally(int start) : total_(start) {}
  int add(int x) {
    total_ += x;
    seen_.push_back(x);
    return total_;
  }
  long add_all(const std::vector<int>& xs) {
    for (int x : xs)
      add(x);
    return total_;
  }
  std::vector<int> seen() const { return seen_; }
  std::string home() const { return weft::current_node_id(); }

 private:
  int total_ = 0;
  std::vector<int> seen_;
};

// Never registered: it cannot leave its process.
struct local_only {
  int get() const { return 1; }
};

}  // namespace

WEFT_ACTOR(tally, &tally::add, &tally::add_all, &tally::seen, &tally::home);

WEFT_REMOTE(square);
WEFT_REMOTE(node_of);
WEFT_REMOTE(iota_n);
WEFT_REMOTE(total);
WEFT_REMOTE(refuse);
WEFT_REMOTE(pattern_block);
WEFT_REMOTE(block_sum);

TEST_CASE("three runtimes of one process form a cluster and run tasks across it") {
  const std::string address = "127.0.0.1:" + std::to_string(free_port());
  weft::runtime head{member(weft::node_role::head, address)};
  CHECK(head.node_id() == "head");
  weft::config worker_cfg = member(weft::node_role::worker, address);
  worker_cfg.resources = {{"special", 1}};
  weft::runtime worker{worker_cfg};
  CHECK(worker.node_id() == "worker-1");
  weft::runtime driver{member(weft::node_role::driver, address)};
  CHECK(driver.node_id() == "driver-1");

  std::vector<weft::ref<int>> squares;
  for (int i = 0; i < 200; ++i)
    squares.push_back(driver.submit(square, i));
  long sum = 0;
  for (auto& s : squares)
    sum += s.get();
  CHECK(sum == 2646700);
  CHECK(driver.submit(node_of, 0).get() == "worker-1");

  // A chain whose links pass a vector between the nodes.
  auto numbers = driver.submit(iota_n, 1000);
  CHECK(driver.submit(total, numbers).get() == 499500);

  // Large values in pooled memory, made on the worker and pulled by the driver, and made on
  // the driver and pulled by the worker: they arrive intact.
  auto made_there = driver.submit(pattern_block, 7u);
  const weft::bulk_vector<std::uint32_t> expected = pattern_block(7u);
  CHECK(made_there.get() == expected);
  CHECK(driver.submit(block_sum, made_there).get() == block_sum(expected));
  auto made_here = driver.put(pattern_block(11u));
  CHECK(driver.submit(block_sum, made_here).get() == block_sum(pattern_block(11u)));

  // Resources only the worker has: the task must go there, not fail at submit.
  weft::task_options special{.resources = {{"special", 1}}};
  CHECK(driver.submit(special, square, 12).get() == 144);
  // A lambda cannot travel: needing a resource only elsewhere is refused at submit.
  CHECK_THROWS_WITH_AS(driver.submit(special, [] { return 1; }), doctest::Contains("WEFT_REMOTE"),
                       weft::error);
  // Resources nobody has fail the task with a clear error.
  weft::task_options impossible{.resources = {{"unicorn", 1}}};
  CHECK_THROWS_WITH_AS(driver.submit(impossible, square, 1).get(),
                       doctest::Contains("no live worker of the cluster registers 'square'"),
                       weft::error);

  try {
    driver.submit(refuse, 5).get();
    FAIL("refuse throws");
  } catch (const weft::task_error& e) {
    CHECK(e.type_name() == "std::logic_error");
    CHECK(e.message() == "refused 5");
    CHECK(e.node() == "worker-1");
    CHECK(e.task() == "refuse");
    CHECK(std::string(e.what()) ==
          "task 'refuse' threw std::logic_error on node worker-1: refused 5");
  }

  weft::cluster_settings client;
  client.address = address;
  weft::cluster_status status = weft::query_cluster(client);
  REQUIRE(status.nodes.size() == 3);
  CHECK(status.nodes[1].id == "worker-1");
  CHECK(status.nodes[1].resources.at("special") == 1);

  driver.shutdown();
  worker.shutdown();
  head.shutdown();
}

TEST_CASE("a driver cannot join a head that is not there; serve() needs a worker or head") {
  weft::config cfg = member(weft::node_role::driver, "127.0.0.1:" + std::to_string(free_port()));
  cfg.cluster.connect_timeout = std::chrono::milliseconds(300);
  CHECK_THROWS_WITH_AS(weft::runtime{cfg}, doctest::Contains("cannot join the cluster at"),
                       weft::error);
  weft::runtime local;
  CHECK_THROWS_WITH_AS(local.serve(), doctest::Contains("needs a worker or head runtime"),
                       weft::error);
  CHECK(local.node_id().empty());
}

TEST_CASE("shutting a driver down while its remote tasks run cancels them, no hang") {
  const std::string address = "127.0.0.1:" + std::to_string(free_port());
  weft::runtime head{member(weft::node_role::head, address)};
  weft::runtime worker{member(weft::node_role::worker, address)};
  std::vector<weft::ref<int>> pending;
  {
    weft::runtime driver{member(weft::node_role::driver, address)};
    for (int i = 0; i < 1000; ++i)
      pending.push_back(driver.submit(square, i));
  }  // destroyed at once: every ref is complete afterwards
  for (auto& r : pending)
    CHECK(r.ready());
}

TEST_CASE("remote actors across runtimes of one process: order, refs, large arguments, lifetime") {
  const std::string address = "127.0.0.1:" + std::to_string(free_port());
  weft::runtime head{member(weft::node_role::head, address)};
  weft::runtime worker{member(weft::node_role::worker, address)};
  weft::runtime driver{member(weft::node_role::driver, address)};
  weft::runtime other{member(weft::node_role::driver, address)};

  {
    auto t = driver.spawn<tally>(weft::actor_options{.name = "t", .node = "worker-1"}, 100);
    CHECK(t.call(&tally::home).get() == "worker-1");
    CHECK(worker.stats().actors == 1);
    // A call waiting for a remote task's result keeps its place: the next one runs after it.
    auto slow = driver.submit(square, 7);
    auto first = t.call(&tally::add, slow);
    auto second = t.call(&tally::add, 1);
    CHECK(first.get() == 149);
    CHECK(second.get() == 150);
    // A large argument (held by the driver, pulled by the worker) before a small call.
    std::vector<int> many(100000, 1);
    auto big = t.call(&tally::add_all, many);
    auto after = t.call(&tally::add, 0);
    CHECK(big.get() == 100150);
    CHECK(after.get() == 100150);
    // Another process-like runtime finds it by name and sees the same state.
    auto seen_there = other.get_actor<tally>("t");
    CHECK(seen_there.call(&tally::add, 0).get() == 100150);
    auto same = other.get_or_spawn<tally>("t");
    CHECK(same == seen_there);  // one stand-in per actor per node
    const auto seen = t.call(&tally::seen).get();
    REQUIRE(seen.size() == 100004);
    CHECK(seen[0] == 49);
    CHECK(seen[1] == 1);
    CHECK(seen.back() == 0);
    // Types that are not registered stay local; pinning them elsewhere is refused.
    CHECK_THROWS_WITH_AS(driver.spawn<local_only>(weft::actor_options{.node = "worker-1"}),
                         doctest::Contains("local_only is not registered with WEFT_ACTOR"),
                         weft::error);
    CHECK(driver.spawn<local_only>().call(&local_only::get).get() == 1);
  }
  // Every handle, here and in `other`, is gone: the owned actor ends on the worker.
  for (int i = 0; i < 200 && worker.stats().actors != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(worker.stats().actors == 0);
  CHECK_THROWS_WITH_AS(other.get_actor<tally>("t"), doctest::Contains("no live actor named 't'"),
                       weft::error);

  // A driver shutting down while its calls are under way: every ref completes.
  std::vector<weft::ref<int>> pending;
  {
    weft::runtime leaving{member(weft::node_role::driver, address)};
    auto t = leaving.spawn<tally>(weft::actor_options{.node = "worker-1"});
    for (int i = 0; i < 500; ++i)
      pending.push_back(t.call(&tally::add, i));
  }
  for (auto& r : pending)
    CHECK(r.ready());
  for (int i = 0; i < 200 && worker.stats().actors != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(worker.stats().actors == 0);  // its connection closed: the worker let go

  other.shutdown();
  driver.shutdown();
  worker.shutdown();
  head.shutdown();
}
