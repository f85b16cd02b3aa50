// Failure handling with real processes on 127.0.0.1: workers killed (SIGKILL) or paused
// (SIGSTOP) while they run and hold tasks. Every wait is bounded; every process is killed at
// the end of its test case, even when a check fails.

#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "local_cluster.hpp"

using namespace std::chrono_literals;
using weft_test::child_process;
using weft_test::contains;
using weft_test::local_cluster;

namespace {

const std::string node_binary = WEFT_FAILURE_NODE;

const std::map<std::string, std::string> fast_heartbeats{{"WEFT_HEARTBEAT_MS", "100"},
                                                         {"WEFT_HEARTBEAT_TIMEOUT_MS", "1000"}};

// How many times `part` occurs in `text`.
int count_of(const std::string& text, const std::string& part) {
  int n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++n;
  return n;
}

// Worker-1 holds four tasks (two running, two queued) and two only it can run; worker-2 joins;
// then `hurt` is done to worker-1. Returns the driver's output after checking that the four
// ran on worker-2 and the two failed with node_died.
std::string lose_worker_with_tasks(
    local_cluster& cluster, child_process*& victim,
    const std::function<void(child_process&, child_process&)>& hurt) {
  victim = &cluster.add_worker(
      "worker-1",
      {{"WEFT_RESOURCES", "victim=1"}, {"WEFT_TEST_HOLD_UNTIL", cluster.dir() + "/release"}}, 2);
  child_process& driver = cluster.start("driver", {{"WEFT_OFFLOAD_THRESHOLD", "0"}}, {"resend"});
  REQUIRE(driver.wait_for_output("submitted", 20s));
  cluster.add_worker("worker-2", {}, 4);  // the head, worker-1, the driver and worker-2
  REQUIRE(driver.wait_for_output("sees=worker-2", 20s));
  hurt(*victim, driver);
  auto rc = driver.wait_for(60s);
  const std::string out = driver.output();
  INFO(out);
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
  CHECK(count_of(out, "ran_on=worker-2") == 4);
  CHECK(count_of(out, "sent again, to node worker-2: node worker-1 was lost") == 4);
  CHECK(contains(out, "send 2 of 4"));
  CHECK(contains(out,
                 "once=task 'once' (slow_where) is lost: it was sent 1 time, and each node "
                 "was lost before it answered (worker-1: "));
  CHECK(contains(out, "task_options::node_retries = 0 allows no more sends"));
  CHECK(contains(out, "stuck=task 'slow_where' is lost: it was sent 1 time"));
  CHECK(contains(out, "no other live node registers 'slow_where' with resources victim=1"));
  CHECK(contains(out, "failures=0"));
  return out;
}

}  // namespace

TEST_CASE("a worker killed while it runs and holds tasks: they run again on another worker") {
  local_cluster cluster(node_binary, fast_heartbeats);
  child_process* victim = nullptr;
  lose_worker_with_tasks(cluster, victim,
                         [](child_process& w, child_process&) { w.signal(SIGKILL); });
}

TEST_CASE(
    "a paused worker is declared dead, its tasks run elsewhere, and when it wakes its "
    "late results are not delivered") {
  local_cluster cluster(node_binary, fast_heartbeats);
  child_process* victim = nullptr;
  const std::string out =
      lose_worker_with_tasks(cluster, victim, [&](child_process& w, child_process& driver) {
        w.signal(SIGSTOP);
        REQUIRE(
            cluster.head().wait_for_output("node worker-1 missed its heartbeats for 1000 ms", 10s));
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (count_of(driver.output(), "sent again") < 4 &&
               std::chrono::steady_clock::now() < deadline)
          std::this_thread::sleep_for(20ms);
        std::ofstream(cluster.dir() + "/release").put('1');  // its running tasks end when it wakes
        w.signal(SIGCONT);
      });
  INFO(out);
  CHECK(contains(out, "node worker-1 left the cluster"));
  // Fenced: the head closes its link and the woken worker stops, instead of rejoining as the
  // node it was.
  REQUIRE(victim->wait_for(20s).has_value());
  CHECK(contains(victim->output(), "lost the connection to the head"));
  CHECK(contains(victim->output(),
                 "so the head has declared it dead and its work was given to "
                 "others: it stops"));
}

TEST_CASE(
    "actors on a killed worker are restarted on another one, keeping name and handles, "
    "and another driver's handle follows") {
  local_cluster cluster(node_binary, fast_heartbeats);
  child_process& victim =
      cluster.add_worker("worker-1", {{"WEFT_TEST_HOLD_UNTIL", cluster.dir() + "/release"}}, 2);
  child_process& driver =
      cluster.start("driver", {{"WEFT_OFFLOAD_THRESHOLD", "0"}}, {"actor_restart"});
  REQUIRE(driver.wait_for_output("submitted", 20s));
  child_process& follower = cluster.start("follower", {}, {"follower"});
  REQUIRE(follower.wait_for_output("follower_ready", 30s));
  cluster.add_worker("worker-2", {}, 5);  // the head, worker-1, two drivers and worker-2
  REQUIRE(driver.wait_for_output("sees=worker-2", 20s));
  victim.signal(SIGKILL);
  auto follower_rc = follower.wait_for(90s);
  const std::string followed = follower.output();
  INFO(followed);
  REQUIRE(follower_rc.has_value());
  CHECK(*follower_rc == 0);
  CHECK(contains(followed, "follower_after=worker-2"));
  CHECK(contains(followed, "follower_restarts=1"));
  auto rc = driver.wait_for(90s);
  const std::string out = driver.output();
  INFO(out);
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
  CHECK(contains(out, "tally_on=worker-1"));
  CHECK(contains(out, "retrying_on=worker-1"));
  CHECK(contains(out, "mortal_on=worker-1"));
  CHECK(contains(out,
                 "tally_in_flight=actor 'tally' (counter) died with node worker-1 while call "
                 "'counter::slow_total' ran there; it was restarted on node worker-2, and "
                 "the call was not sent again (actor_options::max_task_retries = 0: at "
                 "most once)"));
  CHECK(contains(out, "retried_in_flight=10"));  // run again on the new instance, from 10
  CHECK(contains(out, "tally_after_on=worker-2"));
  CHECK(contains(out, "tally_sums_in_order=1"));  // the new instance counts from 100 again
  CHECK(contains(out, "tally_restarts=1"));
  CHECK(contains(out, "retrying_restarts=1"));
  CHECK(contains(out, "found_on=worker-2"));
  CHECK(contains(out, "mortal=unnamed actor (counter) died: "));
  // Spawned here without restarts: it dies with its node, and is not waited for by name.
  CHECK(contains(out, "named_mortal=actor 'named_mortal' (counter) died: "));
  CHECK_FALSE(contains(out, "did not re-create it"));
  CHECK(contains(out, "restarted on node worker-2 after node worker-1 was lost (0 restarts left)"));
  CHECK(contains(out, "failures=0"));
}

TEST_CASE("a driver killed with SIGKILL: its owned actors and objects go, detached actors stay") {
  local_cluster cluster(node_binary, fast_heartbeats);
  cluster.add_worker("worker-1", {}, 2);
  child_process& doomed =
      cluster.start("doomed", {{"WEFT_OFFLOAD_THRESHOLD", "0"}}, {"doomed_driver"});
  REQUIRE(doomed.wait_for_output("ready", 30s));
  const long long before = weft_test::value_of(doomed.output(), "objects_before");
  const long long with = weft_test::value_of(doomed.output(), "objects_with");
  INFO(doomed.output());
  REQUIRE(before >= 0);
  CHECK(with > before);  // what worker-1 holds for it (its large result, the object it put)
  doomed.signal(SIGKILL);
  child_process& after = cluster.start("after", {{"WEFT_OFFLOAD_THRESHOLD", "0"}},
                                       {"after_driver", std::to_string(before)});
  auto rc = after.wait_for(60s);
  const std::string out = after.output();
  INFO(out);
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
  CHECK(weft_test::value_of(out, "objects_after") == before);
  CHECK(contains(out, "session_gone=no live actor named 'session'"));
  CHECK(contains(out, "service_total=6"));
  CHECK(contains(out, "failures=0"));
}

TEST_CASE("results held on a killed worker: a task's is rebuilt from lineage, others are lost") {
  local_cluster cluster(node_binary, fast_heartbeats);
  child_process& victim = cluster.add_worker("worker-1", {}, 2);
  child_process& driver = cluster.start("driver", {{"WEFT_OFFLOAD_THRESHOLD", "0"}}, {"lineage"});
  REQUIRE(driver.wait_for_output("ready", 30s));
  victim.signal(SIGKILL);
  auto rc = driver.wait_for(60s);
  const std::string out = driver.output();
  INFO(out);
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
  CHECK(contains(out, "made_on=worker-1"));
  CHECK(contains(out, "rebuilt_ok=1"));
  CHECK(contains(out, "rebuilt here from its lineage"));
  CHECK(contains(out, "actor_result="));
  CHECK(contains(out,
                 "it cannot be rebuilt: it is the result of an actor call, which depends "
                 "on the actor's state"));
  CHECK(contains(out, "apart_result="));
  CHECK(contains(out, "it cannot be rebuilt: its arguments did not all travel with the call"));
  CHECK(contains(out, "failures=0"));
}

TEST_CASE(
    "the head killed and started again: the others go on, lookups fail at once meanwhile, "
    "then they join it again and named actors are found with their state") {
  local_cluster cluster(node_binary, fast_heartbeats);
  // One unit for the actor, one for a task.
  child_process& worker = cluster.add_worker("worker-1", {{"WEFT_RESOURCES", "victim=2"}}, 2);
  child_process& driver =
      cluster.start("driver", {{"WEFT_OFFLOAD_THRESHOLD", "0"}}, {"head_restart"});
  REQUIRE(driver.wait_for_output("ready", 30s));
  cluster.head().signal(SIGKILL);
  REQUIRE(driver.wait_for_output("waiting_for_head", 60s));
  CHECK_FALSE(worker.wait_for(0ms).has_value());  // the worker went on without its head
  child_process& head = cluster.start("head-again", {{"WEFT_ROLE", "head"}}, {});
  auto rc = driver.wait_for(60s);
  const std::string out = driver.output();
  INFO(out);
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
  CHECK(contains(out, "keeper_on=worker-1"));
  CHECK(contains(out, "lookup_while_down=cannot ask the head: the head at " + cluster.address() +
                          " is unreachable: its connection closed "));
  CHECK(contains(out, "lookups by name fail until it is back"));
  CHECK(contains(out, "lookup_fails_at_once=1"));
  CHECK(contains(out, "task_while_down=worker-1"));
  CHECK(contains(out, "call_while_down=43"));
  CHECK(contains(out, "found_again=44"));  // the same instance: its state was kept
  CHECK(contains(out, "restarts=0"));
  CHECK(contains(out, "failures=0"));
  CHECK(head.wait_for_output("node worker-1 joined again", 10s));
  CHECK(head.wait_for_output("node driver-1 joined again", 10s));
  CHECK(
      contains(worker.output(), "joined the head at " + cluster.address() + " again as worker-1"));
  // The new head lists worker-1 under its id (the driver has ended), and the actor by name.
  const weft::cluster_status status = cluster.wait_for_nodes(2);
  CHECK(status.nodes.back().id == "worker-1");
  bool listed = false;
  for (const weft::actor_status& a : status.actors)
    listed = listed || (a.name == "keeper" && a.node == "worker-1");
  CHECK(listed);
  CHECK_FALSE(worker.wait_for(0ms).has_value());
}

TEST_CASE("a worker whose head does not come back stops after head_reconnect_timeout") {
  local_cluster cluster(node_binary, fast_heartbeats);
  child_process& worker = cluster.add_worker("worker-1", {{"WEFT_HEAD_RECONNECT_MS", "1500"}}, 2);
  cluster.head().signal(SIGKILL);
  REQUIRE(worker.wait_for_output("trying again every 100 ms for up to 1500 ms", 10s));
  auto rc = worker.wait_for(20s);
  INFO(worker.output());
  REQUIRE(rc.has_value());
  CHECK(*rc != 0);
  CHECK(contains(worker.output(), "the head at " + cluster.address() +
                                      " did not come back within 1500 ms "
                                      "(cluster.head_reconnect_timeout): this worker stops"));
}
