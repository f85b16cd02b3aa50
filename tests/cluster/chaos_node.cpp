// The program chaos_test starts as head, workers and the driver (the role comes from
// WEFT_ROLE). As the driver it runs a mixed workload in rounds while the test kills and pauses
// workers: chains of tasks with ref arguments, a pool of restartable actors keeping counters,
// objects of 1-64 MiB read on other nodes and made on other nodes. It checks every value,
// prints what it saw as `key=value` lines, and stops after the round in which the file named
// by WEFT_CHAOS_STOP appears.

#include <weft/cluster.hpp>
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "scenario_output.hpp"

using weft_test::expect;
using weft_test::say;

// One link of a chain: waits a little (so that tasks are running and queued when a worker
// dies), then adds `k`.
std::int64_t step(std::int64_t total, std::int64_t k) {
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return total + k;
}
WEFT_REMOTE(step);

// A block of `bytes` bytes made from `seed`.
std::vector<std::uint8_t> make_block(std::uint64_t bytes, std::uint64_t seed) {
  std::vector<std::uint8_t> block(bytes);
  for (std::uint64_t i = 0; i < bytes; ++i)
    block[i] = static_cast<std::uint8_t>((i * 31 + seed) % 251);
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

// A counter that says which instance answered: each answer is the instance's random
// incarnation in the high 32 bits and its count in the low 32, so that the driver can tell a
// restart (a new incarnation, counting from 0) from a call run twice (a count skipped).
class tally {
 public:
  tally() : incarnation_(std::random_device{}() | 1u) {}
  // Counts one call.
  std::uint64_t add() { return stamp(++count_); }
  // The count so far.
  std::uint64_t total() const { return stamp(count_); }

 private:
  std::uint64_t stamp(std::uint32_t count) const {
    return (std::uint64_t{incarnation_} << 32) | count;
  }
  std::uint32_t incarnation_;
  std::uint32_t count_ = 0;
};
WEFT_ACTOR(tally, &tally::add, &tally::total);

namespace {

using namespace std::chrono_literals;

constexpr auto patience = 120s;  // no ref may take longer, whatever the chaos

// The acknowledged answers of one actor: per incarnation, the counts in the order of the calls.
struct tally_record {
  weft::actor<tally> handle;
  std::map<std::uint32_t, std::vector<std::uint32_t>> acknowledged;
  int failed = 0;
};

// Waits for every answer of `calls` and files it in `record`: an answer is acknowledged; a
// call that failed with actor_died was lost with its node (at most once); anything else fails.
void collect(tally_record& record, std::vector<weft::ref<std::uint64_t>>& calls) {
  for (auto& call : calls) {
    try {
      const std::uint64_t answer = call.get_for(patience);
      record.acknowledged[static_cast<std::uint32_t>(answer >> 32)].push_back(
          static_cast<std::uint32_t>(answer));
    } catch (const weft::actor_died& e) {
      ++record.failed;
    } catch (const std::exception& e) {
      expect(false, std::string("an actor call ends with its answer or actor_died: ") + e.what());
    }
  }
}

// Within each incarnation the acknowledged counts are 1, 2, 3, ... in call order (none run
// twice, none skipped, none out of order), and the last instance's total is the number of calls
// it acknowledged.
void check_tally(int index, tally_record& record) {
  for (const auto& [incarnation, counts] : record.acknowledged) {
    bool consecutive = true;
    for (std::size_t i = 0; i < counts.size(); ++i)
      consecutive = consecutive && counts[i] == i + 1;
    expect(consecutive, "tally-" + std::to_string(index) +
                            ": an instance's acknowledged counts are 1, 2, 3, ... in call order");
  }
  const std::uint64_t total = record.handle.call(&tally::total).get_for(patience);
  const auto last = record.acknowledged.find(static_cast<std::uint32_t>(total >> 32));
  const std::size_t acknowledged = last == record.acknowledged.end() ? 0 : last->second.size();
  expect(static_cast<std::uint32_t>(total) == acknowledged,
         "tally-" + std::to_string(index) + ": the counter equals the calls it acknowledged (" +
             std::to_string(static_cast<std::uint32_t>(total)) + " vs " +
             std::to_string(acknowledged) + ")");
  std::size_t all = 0;
  for (const auto& entry : record.acknowledged)
    all += entry.second.size();
  say("tally-" + std::to_string(index) + " acknowledged=" + std::to_string(all) + " failed=" +
      std::to_string(record.failed) + " instances=" + std::to_string(record.acknowledged.size()) +
      " restarts=" + std::to_string(record.handle.restarts()));
}

// Gets `r` within the patience, counting a wrong value or an error as a failed check.
template <class T>
bool check_value(const weft::ref<T>& r, const T& expected, const std::string& what) {
  try {
    const T value = r.get_for(patience);
    expect(value == expected,
           what + ": expected " + std::to_string(expected) + ", got " + std::to_string(value));
    return value == expected;
  } catch (const std::exception& e) {
    expect(false, what + " failed: " + e.what());
    return false;
  }
}

void run_driver(weft::runtime& rt, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  const char* stop_file = std::getenv("WEFT_CHAOS_STOP");
  // A node's death is never the task's fault: these tasks go on to other nodes however many
  // die under them (the default, 3, is for a cluster that is not being shot at).
  const weft::task_options resend{.node_retries = 50};
  std::vector<tally_record> tallies(4);
  for (std::size_t i = 0; i < tallies.size(); ++i) {
    tallies[i].handle = rt.spawn<tally>(weft::actor_options{
        .name = "tally-" + std::to_string(i), .max_restarts = 1000, .resources = {{"slot", 1}}});
  }
  say("started");
  int tasks_checked = 0;
  int rounds = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(4);
  while (std::chrono::steady_clock::now() < deadline) {
    const bool last_round = stop_file && std::filesystem::exists(stop_file);
    // Chains of tasks, each link taking the previous one's ref.
    std::vector<weft::ref<std::int64_t>> chains;
    std::vector<std::int64_t> expected;
    for (int c = 0; c < 6; ++c) {
      weft::ref<std::int64_t> link = rt.submit(resend, step, std::int64_t{0}, std::int64_t{c});
      std::int64_t sum = c;
      for (int k = 1; k < 30; ++k) {
        const auto add = static_cast<std::int64_t>(random() % 1000);
        link = rt.submit(resend, step, link, add);
        sum += add;
      }
      chains.push_back(link);
      expected.push_back(sum);
    }
    // Calls to every actor of the pool, in flight together.
    std::vector<std::vector<weft::ref<std::uint64_t>>> calls(tallies.size());
    for (std::size_t a = 0; a < tallies.size(); ++a)
      for (int n = 0; n < 10; ++n)
        calls[a].push_back(tallies[a].handle.call(&tally::add));
    // An object put here and read on the workers, and one made on a worker and read here.
    const std::uint64_t put_bytes = (1u << 20) + random() % (63u << 20);
    const std::uint64_t made_bytes = (1u << 20) + random() % (63u << 20);
    const std::uint64_t put_seed = random() % 1000;
    const std::uint64_t made_seed = random() % 1000;
    std::vector<std::uint8_t> block = make_block(put_bytes, put_seed);
    const std::uint64_t put_sum = block_sum(block);
    auto blob = rt.put(std::move(block));
    auto read_a = rt.submit(resend, block_sum, blob);
    auto read_b = rt.submit(resend, block_sum, blob);
    auto made = rt.submit(resend, make_block, made_bytes, made_seed);
    const std::uint64_t made_sum = block_sum(make_block(made_bytes, made_seed));

    for (std::size_t c = 0; c < chains.size(); ++c)
      tasks_checked += check_value(chains[c], expected[c], "chain " + std::to_string(c)) ? 30 : 0;
    for (std::size_t a = 0; a < tallies.size(); ++a)
      collect(tallies[a], calls[a]);
    check_value(read_a, put_sum, "an object put here, read on a worker");
    check_value(read_b, put_sum, "the same object, read again");
    try {
      const auto& value = made.get_for(patience);
      expect(block_sum(value) == made_sum, "a block made on a worker arrives intact");
    } catch (const std::exception& e) {
      expect(false, std::string("a block made on a worker is read here: ") + e.what());
    }
    ++rounds;
    say("round=" + std::to_string(rounds));
    if (last_round) break;
  }
  expect(stop_file && std::filesystem::exists(stop_file), "the test ends the chaos in time");
  for (std::size_t a = 0; a < tallies.size(); ++a)
    check_tally(static_cast<int>(a), tallies[a]);
  say("tasks_checked=" + std::to_string(tasks_checked));
  say("rounds=" + std::to_string(rounds));
}

}  // namespace

int main(int argc, char** argv) try {
  weft::runtime rt{weft::config::from_env()};
  say("node=" + rt.node_id());
  run_driver(rt, argc > 1 ? std::stoull(argv[1]) : 1);
  say("failures=" + std::to_string(weft_test::failures));
  return weft_test::failures == 0 ? 0 : 1;
} catch (const std::exception& e) {
  say(std::string("error: ") + e.what());
  return 3;
}
