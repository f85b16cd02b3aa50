// The program the cluster tests start as head, workers and drivers. As a head or worker (set
// by WEFT_ROLE) its runtime serves the cluster and the process ends when the cluster stops. As
// a driver it runs the scenario named by its first argument and prints what it observed, one
// `key=value` line per fact, for cluster_test to check; it exits non-zero on a failed check.

#include <weft/cluster.hpp>
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include "scenario_output.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

int add(int a, int b) {
  return a + b;
}
WEFT_REMOTE(add);

std::string where(int) {
  return weft::current_node_id();
}
WEFT_REMOTE(where);

int fail_with(std::string message) {
  throw std::invalid_argument(message);
}
WEFT_REMOTE(fail_with);

double sum(const std::vector<double>& values) {
  return std::accumulate(values.begin(), values.end(), 0.0);
}
WEFT_REMOTE(sum);

std::vector<double> scale(std::vector<double> values, double by) {
  for (double& v : values)
    v *= by;
  return values;
}
WEFT_REMOTE(scale);

int sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
WEFT_REMOTE(sleep_ms);

// Word i of block `seed`: a splitmix64 sequence, cheap to recompute anywhere.
std::uint64_t block_word(std::uint64_t seed, std::uint64_t i) {
  std::uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<std::uint64_t> make_block(std::uint64_t words, std::uint64_t seed) {
  std::vector<std::uint64_t> block(words);
  for (std::uint64_t i = 0; i < words; ++i)
    block[i] = block_word(seed, i);
  return block;
}
WEFT_REMOTE(make_block);

// An order-sensitive checksum of a block.
std::uint64_t checksum(const std::vector<std::uint64_t>& block) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::uint64_t w : block)
    h = (h ^ w) * 1099511628211ull;
  return h;
}
WEFT_REMOTE(checksum);

std::string host_of(const std::vector<std::uint64_t>&) {
  return weft::current_node_id();
}
WEFT_REMOTE(host_of);

// This node's arena counters: objects kept and objects pulled from other nodes.
std::vector<std::uint64_t> arena_here(int) {
  const weft::arena_stats s = weft::current_arena_stats();
  return {s.objects, s.pulls};
}
WEFT_REMOTE(arena_here);

// An append-only log: the actor the cluster tests call from several processes.
class ledger {
 public:
  ledger() = default;
  explicit ledger(std::string title) : title_(std::move(title)) {}
  // Appends "who:seq" and returns the number of entries.
  int append(std::string who, int seq) {
    entries_.push_back(who + ":" + std::to_string(seq));
    return static_cast<int>(entries_.size());
  }
  std::vector<std::string> entries() const { return entries_; }
  std::string node() const { return weft::current_node_id(); }
  std::string title() const { return title_; }
  int fail(std::string why) { throw std::runtime_error(why); }

 private:
  std::string title_ = "untitled";
  std::vector<std::string> entries_;
};
WEFT_ACTOR(ledger, &ledger::append, &ledger::entries, &ledger::node, &ledger::title, &ledger::fail);

namespace {

using weft_test::expect;

// Tasks land on every worker, chains cross nodes, values and errors come back.
void tasks_scenario(weft::runtime& rt) {
  std::set<std::string> nodes;
  std::vector<weft::ref<std::string>> places;
  for (int i = 0; i < 40; ++i)
    places.push_back(rt.submit(where, i));
  for (auto& p : places)
    nodes.insert(p.get());
  for (const auto& n : nodes)
    std::printf("ran_on=%s\n", n.c_str());

  weft::ref<int> chain = rt.submit(add, 0, 1);
  for (int i = 2; i <= 100; ++i)
    chain = rt.submit(add, chain, i);
  std::printf("chain=%d\n", chain.get());
  expect(chain.get() == 5050, "the chain of 100 adds sums to 5050");

  std::vector<double> values(100000);
  std::iota(values.begin(), values.end(), 1.0);
  auto scaled = rt.submit(scale, values, 2.0);
  auto total = rt.submit(sum, scaled);
  std::printf("sum=%.0f\n", total.get());

  auto bad = rt.submit(fail_with, std::string("no such thing"));
  try {
    bad.get();
    expect(false, "fail_with throws");
  } catch (const weft::task_error& e) {
    std::printf("error_type=%s\nerror_message=%s\nerror_node=%s\n", e.type_name().c_str(),
                e.message().c_str(), e.node().c_str());
  }
  auto dependent = rt.submit(add, rt.submit(fail_with, std::string("first")), 1);
  try {
    dependent.get();
    expect(false, "a dependent of a failed remote task fails");
  } catch (const weft::task_error& e) {
    std::printf("dependent_error=%s\n", e.message().c_str());
  }
}

// The entries of `who` in `entries`, in the order they appear.
std::vector<std::string> entries_of(const std::vector<std::string>& entries,
                                    const std::string& who) {
  std::vector<std::string> out;
  for (const auto& e : entries)
    if (e.rfind(who + ":", 0) == 0) out.push_back(e);
  return out;
}

// `n` appends by `who`, pipelined; true when the returned sizes only grow (they ran in order).
bool append_in_order(const weft::actor<ledger>& book, const std::string& who, int n) {
  std::vector<weft::ref<int>> sizes;
  for (int i = 0; i < n; ++i)
    sizes.push_back(book.call(&ledger::append, who, i));
  int last = 0;
  bool ordered = true;
  for (auto& s : sizes) {
    ordered = ordered && s.get() > last;
    last = s.get();
  }
  return ordered;
}

// Driver A: spawns the named ledger on worker-1, appends to it, and waits to see it killed
// by driver B.
void actor_owner_scenario(weft::runtime& rt) {
  auto book = rt.spawn<ledger>(
      weft::actor_options{
          .name = "ledger", .lifetime = weft::lifetime::detached, .node = "worker-1"},
      std::string("book"));
  std::printf("spawned_on=%s\ntitle=%s\n", book.call(&ledger::node).get().c_str(),
              book.call(&ledger::title).get().c_str());
  std::fflush(stdout);
  std::printf("a_in_order=%d\n", append_in_order(book, "A", 200) ? 1 : 0);
  std::fflush(stdout);

  // Placed by resources: only worker-1 has "a"; a default-constructed one and one built from
  // an argument.
  weft::actor_options needs_a{.resources = {{"a", 1}}};
  auto placed = rt.spawn<ledger>(needs_a, std::string("by-resources"));
  std::printf("placed_on=%s\nplaced_title=%s\n", placed.call(&ledger::node).get().c_str(),
              placed.call(&ledger::title).get().c_str());
  try {
    rt.spawn<ledger>(weft::actor_options{.node = "worker-9"});
    expect(false, "a spawn pinned to a missing node fails");
  } catch (const weft::error& e) {
    std::printf("bad_pin=%s\n", e.what());
  }
  try {
    rt.spawn<ledger>(weft::actor_options{.name = "ledger"});
    expect(false, "a second actor named 'ledger' is refused");
  } catch (const weft::error& e) {
    std::printf("duplicate=%s\n", e.what());
  }
  auto same = rt.get_or_spawn<ledger>("ledger");
  std::printf("get_or_spawn_same=%d\n", same == book ? 1 : 0);
  std::fflush(stdout);

  // Wait (bounded) for driver B to kill the ledger.
  for (int i = 0; i < 300; ++i) {
    try {
      book.call(&ledger::title).get();
    } catch (const weft::actor_died& e) {
      std::printf("a_saw_death=%s\n", e.what());
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  expect(false, "driver A sees the ledger die within 30 s");
}

// Driver B: finds the ledger by name, appends, checks both drivers' orders, kills it.
void actor_peer_scenario(weft::runtime& rt) {
  auto book = rt.get_actor<ledger>("ledger");
  std::printf("found_on=%s\nfound_title=%s\n", book.call(&ledger::node).get().c_str(),
              book.call(&ledger::title).get().c_str());
  std::printf("b_in_order=%d\n", append_in_order(book, "B", 200) ? 1 : 0);
  std::vector<std::string> all;
  for (int i = 0; i < 300; ++i) {  // driver A's appends may still be arriving
    all = book.call(&ledger::entries).get();
    if (entries_of(all, "A").size() == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  bool orders = all.size() == 400;
  for (const std::string who : {"A", "B"}) {
    const auto mine = entries_of(all, who);
    orders = orders && mine.size() == 200;
    for (std::size_t i = 0; orders && i < mine.size(); ++i)
      orders = mine[i] == who + ":" + std::to_string(i);
  }
  std::printf("entries=%zu\norders_ok=%d\n", all.size(), orders ? 1 : 0);
  try {
    book.call(&ledger::fail, std::string("boom")).get();
    expect(false, "a throwing method fails its call");
  } catch (const weft::task_error& e) {
    std::printf("method_error_type=%s\nmethod_error=%s\n", e.type_name().c_str(),
                e.message().c_str());
  }
  std::printf("alive_after_error=%s\n", book.call(&ledger::title).get().c_str());
  try {
    book.call([](ledger& l) { return l.title(); });
    expect(false, "an unregistered callable cannot reach a remote actor");
  } catch (const weft::error& e) {
    std::printf("unregistered=%s\n", e.what());
  }
  rt.kill(book);
  try {
    book.call(&ledger::title).get();
    expect(false, "a call after kill fails");
  } catch (const weft::actor_died& e) {
    std::printf("b_after_kill=%s\n", e.what());
  }
  for (int i = 0; i < 50; ++i) {  // the owner frees the name once the actor has ended
    try {
      rt.get_actor<ledger>("ledger");
    } catch (const weft::error& e) {
      std::printf("lookup_after_kill=%s\n", e.what());
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  expect(false, "the name is free within 5 s of the kill");
}

// A task is running on a worker when the test kills or stops it; the ref must fail, not hang.
void lost_scenario(weft::runtime& rt) {
  auto resident = rt.spawn<ledger>(weft::actor_options{.resources = {{"victim", 1}}});
  std::printf("resident_on=%s\n", resident.call(&ledger::node).get().c_str());
  // Only worker-1 has the "victim" resource: the task must run there.
  weft::task_options on_victim{.resources = {{"victim", 1}}};
  auto long_task = rt.submit(on_victim, sleep_ms, 60000);
  std::printf("submitted\n");
  std::fflush(stdout);
  try {
    long_task.get_for(std::chrono::seconds(30));
    expect(false, "the task on the lost worker fails");
  } catch (const weft::node_died& e) {
    std::printf("lost=%s\n", e.what());
  } catch (const weft::timeout_error&) {
    expect(false, "the ref fails within 30 s instead of hanging");
  }
  try {
    resident.call(&ledger::title).get_for(std::chrono::seconds(30));
    expect(false, "the actor on the lost worker is dead");
  } catch (const weft::actor_died& e) {
    std::printf("resident_died=%s\n", e.what());
  }
  // The cluster goes on with the remaining worker.
  std::printf("after=%d\n", rt.submit(add, 20, 22).get());
}

// A 256 MiB block made on worker-1 is read on worker-2 without passing through the driver.
void objects_scenario(weft::runtime& rt) {
  const std::uint64_t words = (256u << 20) / 8;
  const std::uint64_t seed = 7;
  std::uint64_t expected = 1469598103934665603ull;
  for (std::uint64_t i = 0; i < words; ++i)
    expected = (expected ^ block_word(seed, i)) * 1099511628211ull;

  weft::task_options on_a{.resources = {{"a", 1}}};
  weft::task_options on_b{.resources = {{"b", 1}}};
  auto block = rt.submit(on_a, make_block, words, seed);
  auto sum = rt.submit(on_b, checksum, block);
  auto reader = rt.submit(on_b, host_of, block);
  std::printf("reader=%s\n", reader.get().c_str());
  std::printf("checksum_ok=%d\n", sum.get() == expected ? 1 : 0);
  expect(sum.get() == expected, "the block arrives intact on worker-2");
  std::printf("driver_pulls=%llu\n", static_cast<unsigned long long>(rt.arena_stats().pulls));

  // Worker-2 keeps the block it pulled: a later task there reads it without pulling again;
  // once the driver lets go of the block, the owner tells worker-2 and its copy goes.
  const auto before = rt.submit(on_b, arena_here, 0).get();
  std::printf("again_ok=%d\n", rt.submit(on_b, checksum, block).get() == expected ? 1 : 0);
  const auto after = rt.submit(on_b, arena_here, 0).get();
  std::printf("worker_pulls=%llu\nworker_pulls_after=%llu\nworker_objects=%llu\n",
              static_cast<unsigned long long>(before[1]), static_cast<unsigned long long>(after[1]),
              static_cast<unsigned long long>(after[0]));
  block = weft::ref<std::vector<std::uint64_t>>();
  sum = weft::ref<std::uint64_t>();
  reader = weft::ref<std::string>();
  std::uint64_t objects_left = after[0];
  for (int i = 0; i < 100 && objects_left >= after[0]; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    objects_left = rt.submit(on_b, arena_here, 0).get()[0];
  }
  std::printf("worker_objects_after_release=%llu\n", static_cast<unsigned long long>(objects_left));

  // A smaller held result read here is pulled once and then a local object.
  auto small = rt.submit(on_a, make_block, std::uint64_t{1} << 17, std::uint64_t{3});
  const auto& values = small.get();
  bool intact = values.size() == (1u << 17);
  for (std::uint64_t i = 0; intact && i < values.size(); ++i)
    intact = values[i] == block_word(3, i);
  std::printf("small_intact=%d\ndriver_pulls_after=%llu\n", intact ? 1 : 0,
              static_cast<unsigned long long>(rt.arena_stats().pulls));
  expect(intact, "a held result read on the driver arrives intact");

  // An argument larger than a frame (64 MiB) is held here and pulled by the worker in chunks.
  const std::uint64_t arg_words = (100u << 20) / 8;
  auto argument = rt.put(make_block(arg_words, 11));
  std::uint64_t arg_expected = 1469598103934665603ull;
  for (std::uint64_t i = 0; i < arg_words; ++i)
    arg_expected = (arg_expected ^ block_word(11, i)) * 1099511628211ull;
  auto arg_sum = rt.submit(on_b, checksum, argument);
  std::printf("big_argument_ok=%d\n", arg_sum.get() == arg_expected ? 1 : 0);
  expect(arg_sum.get() == arg_expected, "a 100 MiB argument reaches the worker intact");

  // Per-node byte counters, as the head has them after the next heartbeats.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  for (const auto& n : weft::query_cluster(rt.settings().cluster).nodes) {
    std::printf("bytes_received[%s]=%llu\nbytes_sent[%s]=%llu\n", n.id.c_str(),
                static_cast<unsigned long long>(n.bytes_received), n.id.c_str(),
                static_cast<unsigned long long>(n.bytes_sent));
  }
}

}  // namespace

int main(int argc, char** argv) try {
  weft::runtime rt{weft::config::from_env()};
  const std::string scenario = argc > 1 ? argv[1] : "tasks";
  std::printf("node=%s\n", rt.node_id().c_str());
  if (scenario == "tasks") {
    tasks_scenario(rt);
  } else if (scenario == "objects") {
    objects_scenario(rt);
  } else if (scenario == "lost") {
    lost_scenario(rt);
  } else if (scenario == "actor_owner") {
    actor_owner_scenario(rt);
  } else if (scenario == "actor_peer") {
    actor_peer_scenario(rt);
  } else {
    std::printf("unknown scenario '%s'\n", scenario.c_str());
    return 2;
  }
  std::printf("failures=%d\n", weft_test::failures);
  return weft_test::failures == 0 ? 0 : 1;
} catch (const std::exception& e) {
  std::printf("error: %s\n", e.what());
  return 3;
}
