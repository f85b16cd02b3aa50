// src/cluster: the head's membership table and the placement policy, without sockets.
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <string>

#include "cluster/lineage.hpp"
#include "cluster/membership.hpp"
#include "cluster/placement.hpp"
#include "cluster/placement_view.hpp"
#include "weft/detail/wire_value.hpp"

using namespace std::chrono_literals;
using weft::node_status;
using weft::cluster::membership;

namespace {

node_status node(weft::node_role role, std::vector<std::string> functions = {},
                 weft::resource_map resources = {}, std::uint64_t load = 0) {
  node_status n;
  n.role = role;
  n.functions = std::move(functions);
  n.resources = std::move(resources);
  n.load = load;
  return n;
}

}  // namespace

TEST_CASE("joins get ids per role; the view lists the head first, then join order") {
  const auto t0 = membership::clock::now();
  node_status head = node(weft::node_role::head);
  head.id = "head";
  membership m("lab", head, t0);
  CHECK(m.join(node(weft::node_role::worker), t0) == "worker-1");
  CHECK(m.join(node(weft::node_role::driver), t0) == "driver-1");
  CHECK(m.join(node(weft::node_role::worker), t0) == "worker-2");
  auto view = m.view(t0 + 2s);
  CHECK(view.cluster_name == "lab");
  REQUIRE(view.nodes.size() == 4);
  CHECK(view.nodes[0].id == "head");
  CHECK(view.nodes[1].id == "worker-1");
  CHECK(view.nodes[2].id == "driver-1");
  CHECK(view.nodes[3].id == "worker-2");
  CHECK(view.nodes[3].uptime_seconds == doctest::Approx(2.0));
}

TEST_CASE("heartbeats keep nodes alive and carry their load; silent ones are swept") {
  const auto t0 = membership::clock::now();
  node_status head = node(weft::node_role::head);
  head.id = "head";
  membership m("c", head, t0);
  const std::string a = m.join(node(weft::node_role::worker), t0);
  const std::string b = m.join(node(weft::node_role::worker), t0);
  weft::cluster::heartbeat beat;
  beat.load = 7;
  beat.tasks_served = 3;
  CHECK(m.heartbeat(a, beat, t0 + 900ms));
  CHECK(m.sweep(t0 + 1500ms, 1000ms) == std::vector<std::string>{b});
  CHECK(m.contains(a));
  CHECK_FALSE(m.contains(b));
  CHECK_FALSE(m.heartbeat(b, beat, t0 + 1600ms));  // dead nodes stay dead
  CHECK(m.view(t0 + 1600ms).nodes[1].load == 7);
  CHECK(m.sweep(t0 + 10s, 1000ms) == std::vector<std::string>{a});  // the head never expires
  CHECK(m.view(t0 + 10s).nodes.size() == 1);
  CHECK_FALSE(m.remove("head"));
}

// Placement by registered function (tasks) or by actor type (spawns).
constexpr auto functions = &weft::node_status::functions;
constexpr auto actor_types = &weft::node_status::actor_types;

TEST_CASE("placement picks a worker with the function and resources, least loaded first") {
  node_status w1 = node(weft::node_role::worker, {"add", "sum"}, {{"gpu", 1}}, 5);
  node_status w2 = node(weft::node_role::worker, {"add"}, {}, 1);
  node_status d = node(weft::node_role::driver, {"add", "sum"}, {{"gpu", 4}}, 0);
  std::vector<weft::cluster::placement_candidate> c{{&w1, 0}, {&w2, 0}, {&d, 0}};
  CHECK(weft::cluster::choose_node(c, functions, "add", {}, 0) == 1u);  // lower load
  CHECK(weft::cluster::choose_node(c, functions, "sum", {}, 0) == 0u);  // only w1 has it
  CHECK(weft::cluster::choose_node(c, functions, "add", {{"gpu", 1}}, 0) == 0u);
  CHECK_FALSE(
      weft::cluster::choose_node(c, functions, "add", {{"gpu", 2}}, 0));  // nobody has 2 gpus
  CHECK_FALSE(
      weft::cluster::choose_node(c, functions, "missing", {}, 0));  // drivers never run tasks
  c[1].in_flight = 10;  // what this node already sent counts as load
  CHECK(weft::cluster::choose_node(c, functions, "add", {}, 0) == 0u);
}

TEST_CASE("placement rotates among equally loaded workers") {
  node_status a = node(weft::node_role::worker, {"f"});
  node_status b = node(weft::node_role::worker, {"f"});
  node_status c = node(weft::node_role::worker, {"f"});
  std::vector<weft::cluster::placement_candidate> all{{&a, 0}, {&b, 0}, {&c, 0}};
  std::vector<std::size_t> picks;
  for (std::size_t r = 0; r < 6; ++r)
    picks.push_back(*weft::cluster::choose_node(all, functions, "f", {}, r));
  CHECK(picks == std::vector<std::size_t>{0, 1, 2, 0, 1, 2});
}

TEST_CASE("actor placement looks at the registered actor types, not the functions") {
  node_status w1 = node(weft::node_role::worker, {"Counter"}, {}, 3);
  node_status w2 = node(weft::node_role::worker, {"Counter"}, {}, 1);
  w1.actor_types = {"Ledger"};
  w2.actor_types = {};
  std::vector<weft::cluster::placement_candidate> c{{&w1, 0}, {&w2, 0}};
  CHECK(weft::cluster::choose_node(c, actor_types, "Ledger", {}, 0) == 0u);
  CHECK_FALSE(weft::cluster::choose_node(c, actor_types, "Counter", {}, 0));
  CHECK(weft::cluster::choose_node(c, functions, "Counter", {}, 0) == 1u);
}

TEST_CASE("a node dropped after its link closed stays out of stale views, back on a new beat") {
  weft::cluster::placement_view view;
  auto status_with = [](std::uint64_t w1_beats) {
    weft::cluster_status s;
    node_status w1 = node(weft::node_role::worker, {"f"});
    w1.id = "worker-1";
    w1.address = "127.0.0.1:1";
    w1.heartbeats = w1_beats;
    node_status w2 = node(weft::node_role::worker, {"f"});
    w2.id = "worker-2";
    w2.address = "127.0.0.1:2";
    s.nodes = {w1, w2};
    return s;
  };
  CHECK(view.apply(status_with(5)).empty());
  view.drop("worker-1");
  CHECK_FALSE(view.member("worker-1"));
  // A view the head sent before it noticed: worker-1 is listed with no newer heartbeat.
  CHECK(view.apply(status_with(5)).empty());
  CHECK_FALSE(view.member("worker-1"));
  for (int i = 0; i < 4; ++i) {
    auto chosen = view.choose_for_task("f", {});
    REQUIRE(chosen);
    CHECK(chosen->id == "worker-2");
  }
  // It beat again: alive, only the link had closed.
  CHECK(view.apply(status_with(6)).empty());
  CHECK(view.member("worker-1"));
  // Dropped again, and then the head reports it gone: it is reported gone here too.
  view.drop("worker-1");
  weft::cluster_status without = status_with(6);
  without.nodes.erase(without.nodes.begin());
  CHECK(view.apply(without) == std::vector<std::string>{"worker-1"});
  CHECK(view.apply(status_with(7)).empty());  // a new join under the same id is taken
  CHECK(view.member("worker-1"));
}

TEST_CASE("a restarted head takes nodes back under their ids, never one it saw leave") {
  const auto t0 = membership::clock::now();
  node_status head = node(weft::node_role::head);
  head.id = "head";
  membership m("c", head, t0);
  node_status back = node(weft::node_role::worker);
  back.id = "worker-7";
  CHECK(m.rejoin(back, t0).empty());
  CHECK(m.contains("worker-7"));
  // Ids given later do not reuse it.
  CHECK(m.join(node(weft::node_role::worker), t0) == "worker-8");
  CHECK(m.rejoin(back, t0) ==
        "node worker-7 asked to join again, but a node of that id is a member");
  // Declared dead (silent), or gone: it is not taken back, so a woken instance stays out.
  CHECK(m.sweep(t0 + 5s, 1s) == std::vector<std::string>{"worker-7", "worker-8"});
  CHECK(m.rejoin(back, t0 + 5s) ==
        "node worker-7 left this cluster or was declared dead (it was silent for longer than "
        "the heartbeat timeout); restart it to join as a new node");
  node_status other = node(weft::node_role::driver);
  other.id = "driver-3";
  CHECK(m.rejoin(other, t0 + 5s).empty());
  CHECK(m.remove("driver-3"));
  CHECK_FALSE(m.rejoin(other, t0 + 5s).empty());
}

TEST_CASE("after joining a restarted head, nodes missing from its first views are kept a while") {
  weft::cluster::placement_view view;
  auto listing = [](std::vector<std::string> ids) {
    weft::cluster_status s;
    for (const std::string& id : ids) {
      node_status n = node(weft::node_role::worker, {"f"});
      n.id = id;
      n.address = "127.0.0.1:1";
      s.nodes.push_back(n);
    }
    return s;
  };
  CHECK(view.apply(listing({"head", "worker-1", "worker-2"})).empty());
  view.drop("head");  // its link closed
  view.head_returned(std::chrono::steady_clock::now() + 1h);
  // The new head knows only this node and itself so far: nothing is reported gone.
  CHECK(view.apply(listing({"head"})).empty());
  CHECK(view.member("head"));
  CHECK(view.member("worker-1"));
  CHECK(view.member("worker-2"));
  // Once the settling time is over, a node the head still lacks is gone.
  view.head_returned(std::chrono::steady_clock::now());
  CHECK(view.apply(listing({"head", "worker-1"})) == std::vector<std::string>{"worker-2"});
}

TEST_CASE("lineage is kept within its budget, freed with its recipes, and never when disabled") {
  // The encoding points into the values on their direct path: they outlive the calls.
  const std::string forty(40, 'x');
  const std::string one = "y";
  auto call_of = [](const std::string& value) {
    weft::cluster::sent_call call;
    call.request_prefix = "hdr";
    auto sent = std::make_shared<weft::detail::wire_value>();
    sent->append(value);
    call.sent = sent;
    return call;
  };
  const weft::cluster::sent_call small = call_of(forty);
  weft::cluster::lineage_budget budget(small.request_prefix.size() + small.sent->size() + 10);
  std::string why;
  auto first = budget.keep(small, why);
  REQUIRE(first);
  // The request as a worker receives it: the prefix, then the arguments' bytes.
  const auto& bytes = *first->request();
  REQUIRE(bytes.size() == 3 + small.sent->size());
  CHECK(std::memcmp(bytes.data(), "hdr", 3) == 0);
  CHECK(std::memcmp(bytes.data() + bytes.size() - forty.size(), forty.data(), forty.size()) == 0);
  CHECK(budget.keep(small, why) == nullptr);
  CHECK(why.find("the lineage budget was full when it was made") != std::string::npos);
  first.reset();  // its bytes go back to the budget
  CHECK(budget.keep(small, why) != nullptr);

  weft::cluster::sent_call apart = call_of(one);
  apart.left.holds.push_back(7);  // a large argument the worker pulls from here
  CHECK(budget.keep(apart, why) == nullptr);
  CHECK(why.find("its arguments did not all travel with the call") != std::string::npos);

  weft::cluster::lineage_budget none(0);
  CHECK(none.keep(small, why) == nullptr);
  CHECK(why == "no lineage is kept (WEFT_LINEAGE_BYTES = 0)");
}
