// How fast a cluster recovers from a dead worker, each process its own (the benchmark starts
// itself again as a head and as workers on 127.0.0.1). One iteration: a victim worker joins
// and takes a task (or hosts an actor with max_restarts = 1); a survivor joins; the victim is
// killed (SIGKILL) or paused (SIGSTOP); the time measured runs from that signal to
//   task_after_*:  the task starting again on the survivor (its start time, read from the
//                  same monotonic clock in both processes);
//   actor_after_*: a call made right after the signal (max_task_retries = -1, so it is sent
//                  again if it was in flight) answering from the actor re-created on the
//                  survivor.
// The argument is the head's heartbeat timeout in ms. Baselines beside them: the timeout
// itself (counter `of_timeout` = recovery / timeout: a SIGKILL is seen at once, when the
// victim's sockets close; a SIGSTOP only once the timeout has passed), and `fresh_task`, a task
// submitted to a live worker, from submit to its start there. Setup and teardown of each
// iteration (starting and reaping processes) are outside the measured time.

#include <benchmark/benchmark.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <weft/cluster.hpp>
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/spawn_self.hpp"

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// Returns when it started; on the victim (WEFT_BENCH_VICTIM set) it then sleeps until killed.
std::int64_t start_time(int) {
  const std::int64_t started = now_ns();
  if (std::getenv("WEFT_BENCH_VICTIM")) std::this_thread::sleep_for(std::chrono::minutes(10));
  return started;
}
WEFT_REMOTE(start_time);

// An actor that tells the time where it lives.
class stopwatch {
 public:
  std::int64_t now() const { return now_ns(); }
};
WEFT_ACTOR(stopwatch, &stopwatch::now);

namespace {

int free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

void reap(pid_t pid, int signal) {
  ::kill(pid, signal);
  if (signal == SIGSTOP) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

// A head with heartbeat timeout `timeout_ms` and a driver runtime joined to it.
class bench_cluster {
 public:
  explicit bench_cluster(int timeout_ms) : timeout_ms_(timeout_ms) {
    const std::string address = "127.0.0.1:" + std::to_string(free_port());
    common_ = {"WEFT_ADDRESS=" + address, "WEFT_HEARTBEAT_TIMEOUT_MS=" + std::to_string(timeout_ms),
               "WEFT_HEARTBEAT_MS=" + std::to_string(std::max(50, timeout_ms / 10)),
               "WEFT_THREADS=2", "WEFT_LOG=error"};
    std::vector<std::string> head_env = common_;
    head_env.push_back("WEFT_ROLE=head");
    head_ = weft_bench::spawn_self(head_env);
    weft::config cfg;
    cfg.threads = 2;
    cfg.cluster.address = address;
    cfg.cluster.offload_threshold = 0;
    cfg.cluster.heartbeat_timeout = std::chrono::milliseconds(timeout_ms);
    cfg.cluster.heartbeat_interval = std::chrono::milliseconds(std::max(50, timeout_ms / 10));
    driver_.emplace(cfg);
  }
  ~bench_cluster() {
    driver_.reset();
    reap(head_, SIGKILL);
  }

  weft::runtime& driver() { return *driver_; }
  int timeout_ms() const { return timeout_ms_; }

  // Starts a worker (the victim, whose start_time sleeps) and waits until `workers` are listed.
  pid_t add_worker(bool victim, std::size_t workers) {
    std::vector<std::string> env = common_;
    env.push_back("WEFT_ROLE=worker");
    if (victim) env.push_back("WEFT_BENCH_VICTIM=1");
    const pid_t pid = weft_bench::spawn_self(env);
    wait_for_workers(workers);
    return pid;
  }
  // Waits (at most 60 s) until the driver's view lists `n` workers.
  void wait_for_workers(std::size_t n) {
    for (int i = 0; i < 3000; ++i) {
      std::size_t seen = 0;
      for (const weft::node_status& s : driver_->nodes())
        seen += s.role == weft::node_role::worker ? 1 : 0;
      if (seen == n) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::fprintf(stderr, "recovery_bench: the cluster did not reach %zu workers\n", n);
    std::exit(1);
  }

 private:
  int timeout_ms_;
  std::vector<std::string> common_;
  pid_t head_ = -1;
  std::optional<weft::runtime> driver_;
};

void recovery(benchmark::State& state, int signal, bool actor) {
  bench_cluster cluster(static_cast<int>(state.range(0)));
  weft::runtime& rt = cluster.driver();
  double total = 0;
  for (auto _ : state) {
    const pid_t victim = cluster.add_worker(true, 1);
    weft::actor<stopwatch> watch;
    weft::ref<std::int64_t> task;
    if (actor) {
      watch = rt.spawn<stopwatch>(weft::actor_options{.max_restarts = 1, .max_task_retries = -1});
      watch.call(&stopwatch::now).get();  // it lives on the victim
    } else {
      task = rt.submit(start_time, 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // it runs on the victim
    }
    const pid_t survivor = cluster.add_worker(false, 2);
    const std::int64_t hurt = now_ns();
    ::kill(victim, signal);
    const std::int64_t back = actor ? watch.call(&stopwatch::now).get() : task.get();
    const double seconds = static_cast<double>(back - hurt) / 1e9;
    state.SetIterationTime(seconds);
    total += seconds;
    watch = weft::actor<stopwatch>();
    reap(victim, signal);
    reap(survivor, SIGTERM);
    cluster.wait_for_workers(0);
  }
  const double mean = total / static_cast<double>(state.iterations());
  state.counters["of_timeout"] = mean * 1000.0 / cluster.timeout_ms();
}

void task_after_sigkill(benchmark::State& state) {
  recovery(state, SIGKILL, false);
}
void task_after_sigstop(benchmark::State& state) {
  recovery(state, SIGSTOP, false);
}
void actor_after_sigkill(benchmark::State& state) {
  recovery(state, SIGKILL, true);
}
void actor_after_sigstop(benchmark::State& state) {
  recovery(state, SIGSTOP, true);
}

// The baseline: from submit to the task's start on a live worker.
void fresh_task(benchmark::State& state) {
  bench_cluster cluster(static_cast<int>(state.range(0)));
  const pid_t worker = cluster.add_worker(false, 1);
  for (auto _ : state) {
    const std::int64_t submitted = now_ns();
    const std::int64_t started = cluster.driver().submit(start_time, 0).get();
    state.SetIterationTime(static_cast<double>(started - submitted) / 1e9);
  }
  reap(worker, SIGTERM);
}

void timeouts(benchmark::internal::Benchmark* b) {
  b->Arg(1000)->Arg(10000)->Iterations(3)->UseManualTime()->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(fresh_task)->Arg(1000)->Iterations(20)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(task_after_sigkill)->Apply(timeouts);
BENCHMARK(actor_after_sigkill)->Apply(timeouts);
BENCHMARK(task_after_sigstop)->Apply(timeouts);
BENCHMARK(actor_after_sigstop)->Apply(timeouts);

int main(int argc, char** argv) {
  if (std::getenv("WEFT_ROLE")) {
    weft::runtime node{weft::config::from_env()};  // a head or worker: serves, then exits
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
