// The program the failure tests start as head, workers and drivers (the role comes from
// WEFT_ROLE, as for cluster_node). As a driver it runs the scenario named by its first
// argument while the test kills, pauses or adds workers, and prints what it observed, one
// `key=value` line per fact, for failure_test to check; it exits non-zero on a failed check.

#include <weft/cluster.hpp>
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include "scenario_output.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

// Sleeps `ms` milliseconds; on the victim of a test (WEFT_TEST_HOLD_UNTIL names a file) it
// waits instead until that file exists (at most two minutes), so that the test decides when
// its tasks end, whatever the machine's speed.
void pause_for(int ms) {
  if (const char* until = std::getenv("WEFT_TEST_HOLD_UNTIL")) {
    for (int i = 0; i < 6000 && !std::filesystem::exists(until); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// Pauses (pause_for), then says where it ran.
std::string slow_where(int ms) {
  pause_for(ms);
  return weft::current_node_id();
}
WEFT_REMOTE(slow_where);

// A block of `bytes` bytes, each its index modulo 251.
std::vector<std::uint8_t> make_block(std::uint64_t bytes) {
  std::vector<std::uint8_t> block(bytes);
  for (std::uint64_t i = 0; i < bytes; ++i)
    block[i] = static_cast<std::uint8_t>(i % 251);
  return block;
}
WEFT_REMOTE(make_block);

// The sum of a block's bytes.
std::uint64_t block_sum(const std::vector<std::uint8_t>& block) {
  std::uint64_t sum = 0;
  for (std::uint8_t b : block)
    sum += b;
  return sum;
}
WEFT_REMOTE(block_sum);

// How many objects this node's arena holds.
std::uint64_t arena_objects(int) {
  return weft::current_arena_stats().objects;
}
WEFT_REMOTE(arena_objects);

// A running total: the actor the restart tests re-create on another node.
class counter {
 public:
  explicit counter(int start) : total_(start) {}
  int add(int n) { return total_ += n; }
  std::string where() const { return weft::current_node_id(); }
  // A block of `bytes` bytes (a result large enough to stay on this node until read).
  std::vector<std::uint8_t> block(std::uint64_t bytes) const { return make_block(bytes); }
  // Pauses (pause_for), then returns the total.
  int slow_total(int ms) {
    pause_for(ms);
    return total_;
  }

 private:
  int total_;
};
WEFT_ACTOR(counter, &counter::add, &counter::where, &counter::block, &counter::slow_total);

// A copy of `block` (a large result made from a large argument).
std::vector<std::uint8_t> copy_block(const std::vector<std::uint8_t>& block) {
  return block;
}
WEFT_REMOTE(copy_block);

namespace {

using weft_test::expect;

using weft_test::say;

// Waits (at most 20 s) until this node's view of the cluster lists node `id`.
bool wait_to_see(weft::runtime& rt, const std::string& id) {
  for (int i = 0; i < 200; ++i) {
    for (const weft::node_status& n : rt.nodes())
      if (n.id == id) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Tasks queued and running on worker-1 when it dies: those another node can run are sent there
// (worker-2, which joins after they were submitted); those only worker-1 could run fail with
// node_died, at once when node_retries is 0.
void resend_scenario(weft::runtime& rt) {
  std::vector<weft::ref<std::string>> runs;
  for (int i = 0; i < 4; ++i)
    runs.push_back(rt.submit(slow_where, 300));
  auto once =
      rt.submit(weft::task_options{.node_retries = 0, .name = "once", .resources = {{"victim", 1}}},
                slow_where, 300);
  auto stuck = rt.submit(weft::task_options{.resources = {{"victim", 1}}}, slow_where, 300);
  say("submitted");
  expect(wait_to_see(rt, "worker-2"), "the driver hears of worker-2 within 20 s");
  say("sees=worker-2");
  for (auto& r : runs) {
    try {
      say("ran_on=" + r.get_for(std::chrono::seconds(60)));
    } catch (const std::exception& e) {
      say(std::string("run_failed=") + e.what());
      expect(false, "a task another node can run survives its node's death");
    }
  }
  for (auto* lost : {&once, &stuck}) {
    try {
      lost->get_for(std::chrono::seconds(60));
      expect(false, "a task only worker-1 could run fails");
    } catch (const weft::node_died& e) {
      say(std::string(lost == &once ? "once=" : "stuck=") + e.what());
    } catch (const std::exception& e) {
      say(std::string("wrong_error=") + e.what());
      expect(false, "the lost task fails with node_died");
    }
  }
}

// Actors on worker-1 when it dies: those with restarts left are re-created on worker-2 from
// their constructor arguments, keep their name and handles, and take later calls in order; a
// call in flight is sent again only with max_task_retries; one without restarts dies.
void actor_restart_scenario(weft::runtime& rt) {
  auto tally = rt.spawn<counter>(weft::actor_options{.name = "tally", .max_restarts = 1}, 100);
  auto retrying =
      rt.spawn<counter>(weft::actor_options{.max_restarts = 2, .max_task_retries = -1}, 10);
  auto mortal = rt.spawn<counter>(weft::actor_options{}, 1);
  auto named_mortal = rt.spawn<counter>(weft::actor_options{.name = "named_mortal"}, 2);
  expect(named_mortal.call(&counter::add, 0).get() == 2, "named_mortal answers");
  say("tally_on=" + tally.call(&counter::where).get());
  say("retrying_on=" + retrying.call(&counter::where).get());
  say("mortal_on=" + mortal.call(&counter::where).get());
  expect(tally.call(&counter::add, 1).get() == 101, "tally counts from its constructor's 100");
  auto tally_slow = tally.call(&counter::slow_total, 300);
  auto retrying_slow = retrying.call(&counter::slow_total, 300);
  say("submitted");
  expect(wait_to_see(rt, "worker-2"), "the driver hears of worker-2 within 20 s");
  say("sees=worker-2");
  try {
    tally_slow.get_for(std::chrono::seconds(60));
    expect(false, "a call in flight without max_task_retries is not run again");
  } catch (const weft::actor_died& e) {
    say(std::string("tally_in_flight=") + e.what());
  }
  say("retried_in_flight=" + std::to_string(retrying_slow.get_for(std::chrono::seconds(60))));
  say("tally_after_on=" + tally.call(&counter::where).get_for(std::chrono::seconds(60)));
  std::vector<weft::ref<int>> sums;
  for (int i = 0; i < 50; ++i)
    sums.push_back(tally.call(&counter::add, 1));
  bool in_order = true;
  for (int i = 0; i < 50; ++i)
    in_order = in_order && sums[i].get_for(std::chrono::seconds(60)) == 101 + i;
  say("tally_sums_in_order=" + std::to_string(in_order ? 1 : 0));
  say("tally_restarts=" + std::to_string(tally.restarts()));
  say("retrying_restarts=" + std::to_string(retrying.restarts()));
  say("found_on=" + rt.get_actor<counter>("tally").call(&counter::where).get());
  try {
    mortal.call(&counter::where).get_for(std::chrono::seconds(60));
    expect(false, "an actor without restarts dies with its node");
  } catch (const weft::actor_died& e) {
    say(std::string("mortal=") + e.what());
  }
  try {
    named_mortal.call(&counter::where).get_for(std::chrono::seconds(60));
    expect(false, "a named actor without restarts dies with its node");
  } catch (const weft::actor_died& e) {
    say(std::string("named_mortal=") + e.what());
  }
}

// Another driver's view of "tally": found by name before its node dies, the handle follows the
// actor to where its spawner re-creates it.
void follower_scenario(weft::runtime& rt) {
  weft::actor<counter> tally;
  for (int i = 0; i < 200 && !tally.valid(); ++i) {
    try {
      tally = rt.get_actor<counter>("tally");
    } catch (const weft::error&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  expect(tally.valid(), "the follower finds tally within 20 s");
  if (!tally.valid()) return;
  say("follower_ready");
  // The first call waits on worker-1 behind tally's slow call; once worker-1 is killed it fails
  // (a call in flight from a process that did not spawn the actor is not sent again), and the
  // next ones reach the instance re-created on worker-2.
  std::string now;
  for (int i = 0; i < 600 && now != "worker-2"; ++i) {
    try {
      now = tally.call(&counter::where).get_for(std::chrono::seconds(60));
    } catch (const weft::actor_died& e) {
      const std::string what = e.what();
      if (what.find("not sent again") == std::string::npos) {
        now = "error: " + what;
        break;
      }
      say("follower_in_flight=" + what);
    }
    if (now != "worker-2") std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  say("follower_after=" + now);
  say("follower_restarts=" + std::to_string(tally.restarts()));
}

// Large results held on worker-1 when it dies, read afterwards: a task's is rebuilt here by
// running it again (lineage); an actor call's, or a task's whose argument travelled apart,
// fails with object_lost saying why.
void lineage_scenario(weft::runtime& rt) {
  constexpr std::uint64_t bytes = 8u << 20;
  const std::uint64_t expected = block_sum(make_block(bytes));
  auto made = rt.submit(make_block, bytes);
  auto keeper = rt.spawn<counter>(weft::actor_options{}, 0);
  auto from_actor = keeper.call(&counter::block, bytes);
  auto copied = rt.submit(copy_block, rt.put(make_block(1u << 20)));
  rt.wait(std::vector{made, from_actor, copied});
  say("made_on=" + rt.submit(slow_where, 0).get());
  say("ready");
  for (int i = 0; i < 200; ++i) {  // until worker-1 has left the cluster
    bool listed = false;
    for (const weft::node_status& n : rt.nodes())
      listed = listed || n.id == "worker-1";
    if (!listed) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  say("rebuilt_ok=" + std::to_string(block_sum(made.get()) == expected ? 1 : 0));
  for (auto* lost : {&from_actor, &copied}) {
    try {
      lost->get();
      expect(false, "a result that cannot be rebuilt is lost");
    } catch (const weft::object_lost& e) {
      say(std::string(lost == &from_actor ? "actor_result=" : "apart_result=") + e.what());
    }
  }
}

// The driver that dies: it leaves on worker-1 a detached and an owned named actor, a large
// result held there for it, and a copy of a large object it put; then it waits to be killed.
void doomed_driver_scenario(weft::runtime& rt) {
  say("objects_before=" + std::to_string(rt.submit(arena_objects, 0).get()));
  auto service = rt.spawn<counter>(
      weft::actor_options{.name = "service", .lifetime = weft::lifetime::detached}, 5);
  auto session = rt.spawn<counter>(weft::actor_options{.name = "session"}, 7);
  expect(service.call(&counter::add, 0).get() == 5, "the detached actor answers");
  expect(session.call(&counter::add, 0).get() == 7, "the owned actor answers");
  auto held = rt.submit(make_block, 8u << 20);  // stays on worker-1 until read
  weft::ref<std::vector<std::uint8_t>> blob = rt.put(make_block(8u << 20));
  expect(rt.submit(block_sum, blob).get() > 0, "worker-1 reads the object this driver put");
  expect(held.valid(), "the held result is referenced");
  say("objects_with=" + std::to_string(rt.submit(arena_objects, 0).get()));
  say("ready");
  std::this_thread::sleep_for(std::chrono::minutes(5));  // until the test kills it
}

// After the doomed driver died: within the heartbeat timeout its owned actor and the objects
// it owned are gone from worker-1 (back to `baseline` objects), its detached actor lives.
void after_driver_scenario(weft::runtime& rt, std::uint64_t baseline) {
  std::uint64_t objects = 0;
  for (int i = 0; i < 200; ++i) {
    objects = rt.submit(arena_objects, 0).get();
    if (objects <= baseline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  say("objects_after=" + std::to_string(objects));
  std::string session_gone;
  for (int i = 0; i < 200 && session_gone.empty(); ++i) {
    try {
      rt.get_actor<counter>("session");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } catch (const weft::error& e) {
      session_gone = e.what();
    }
  }
  say("session_gone=" + session_gone);
  say("service_total=" +
      std::to_string(rt.get_actor<counter>("service").call(&counter::add, 1).get()));
}

// The head dies under a named detached actor on worker-1 and comes back: meanwhile lookups
// fail at once saying why, tasks and calls between this driver and worker-1 go on; once a head
// is back at the same address, the actor is found by name again, with its state.
void head_restart_scenario(weft::runtime& rt) {
  auto keeper = rt.spawn<counter>(
      weft::actor_options{
          .name = "keeper", .lifetime = weft::lifetime::detached, .resources = {{"victim", 1}}},
      40);
  expect(keeper.call(&counter::add, 2).get() == 42, "keeper counts from its constructor's 40");
  say("keeper_on=" + keeper.call(&counter::where).get());
  say("ready");
  std::string down;
  for (int i = 0; i < 400 && down.empty(); ++i) {  // until the test has killed the head
    try {
      rt.get_actor<counter>("keeper");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } catch (const weft::error& e) {
      down = e.what();
    }
  }
  say("lookup_while_down=" + down);
  const auto started = std::chrono::steady_clock::now();
  try {
    rt.get_actor<counter>("keeper");
  } catch (const weft::error&) {
  }
  const auto waited = std::chrono::steady_clock::now() - started;
  say("lookup_fails_at_once=" +
      std::to_string(waited < std::chrono::seconds(1) ? 1 : 0));  // not after a timeout
  say("task_while_down=" +
      rt.submit(weft::task_options{.resources = {{"victim", 1}}}, slow_where, 0)
          .get_for(std::chrono::seconds(30)));
  say("call_while_down=" +
      std::to_string(keeper.call(&counter::add, 1).get_for(std::chrono::seconds(30))));
  say("waiting_for_head");
  std::string found;
  for (int i = 0; i < 300 && found.empty(); ++i) {
    try {
      auto again = rt.get_actor<counter>("keeper");
      found = std::to_string(again.call(&counter::add, 1).get_for(std::chrono::seconds(30)));
    } catch (const weft::error& e) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  say("found_again=" + found);
  say("restarts=" + std::to_string(keeper.restarts()));
}

}  // namespace

int main(int argc, char** argv) try {
  weft::runtime rt{weft::config::from_env()};
  const std::string scenario = argc > 1 ? argv[1] : "resend";
  say("node=" + rt.node_id());
  if (scenario == "resend") {
    resend_scenario(rt);
  } else if (scenario == "doomed_driver") {
    doomed_driver_scenario(rt);
  } else if (scenario == "after_driver") {
    after_driver_scenario(rt, argc > 2 ? std::stoull(argv[2]) : 0);
  } else if (scenario == "lineage") {
    lineage_scenario(rt);
  } else if (scenario == "follower") {
    follower_scenario(rt);
  } else if (scenario == "head_restart") {
    head_restart_scenario(rt);
  } else if (scenario == "actor_restart") {
    actor_restart_scenario(rt);
  } else {
    say("unknown scenario '" + scenario + "'");
    return 2;
  }
  std::printf("failures=%d\n", weft_test::failures);
  return weft_test::failures == 0 ? 0 : 1;
} catch (const std::exception& e) {
  std::printf("error: %s\n", e.what());
  return 3;
}
