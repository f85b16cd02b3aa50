// Remote tasks against raw Boost.Asio on loopback, each in its own processes: the benchmark
// starts itself again as a cluster head, two workers, a TCP echo server and a TCP sink, then
// measures
//   round_trip:   one 64-byte message there and back (asio) vs submit + get of a registered
//                 no-op on the worker (weft);
//   pipelined:    10,000 messages (asio: written back to back, echoed) vs 10,000 remote tasks
//                 in flight (weft), per second;
//   transfer:     1 GiB streamed on one connection to a reading process, into a reused 1 MiB
//                 buffer (asio) or into fresh memory of the message's size (asio_fresh), vs a
//                 new 1 GiB task result held on one worker, pulled by a task on the other
//                 (weft: a weft::bulk_vector; weft_std_vector: a std::vector);
//   actor_round_trip, actor_pipelined_10k: a call of a remote actor's echo method and get
//                 (weft, the actor on a worker) vs a request/response to an echo actor
//                 published by another process with CAF's caf::io (when CAF is found), and
//                 vs the raw Asio echo.
//   actor_chain_10k: 10,000 pairs of calls, each pair's second call (to an echo actor on the
//                 other worker) taking the first one's result as a ref argument, all in
//                 flight (weft), vs 20,000 messages echoed back to back (asio: the same
//                 number of messages, with no dependency between them).
// Every child process is stopped (cluster stop, then SIGKILL) at the end.
//
// With WEFT_BENCH_TLS=1 the weft cluster runs over mutual TLS 1.3 (certificates made for the
// run by weft::make_tls_files); the baselines stay plain TCP, so running it both ways shows
// what TLS costs weft against the same baseline.

#include <benchmark/benchmark.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <weft/weft.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/ratio_reporter.hpp"
#include "common/spawn_self.hpp"
#include "weft/cluster.hpp"
#include "weft/remote.hpp"
#include "weft/tls_files.hpp"

#ifdef WEFT_BENCH_WITH_CAF_IO
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#endif

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

int noop(int x) {
  return x;
}
WEFT_REMOTE(noop);

// A block of `bytes` bytes (made on the worker with resource "a"), in pooled memory.
weft::bulk_vector<char> make_block(std::uint64_t bytes) {
  return weft::bulk_vector<char>(bytes, 'w');
}
WEFT_REMOTE(make_block);

// Reads a block (on the worker with resource "b", which pulls it from the other worker).
std::uint64_t block_size(const weft::bulk_vector<char>& block) {
  return block.size();
}
WEFT_REMOTE(block_size);

// The same in a std::vector, whose memory comes fresh from the system each time.
std::vector<char> make_std_block(std::uint64_t bytes) {
  return std::vector<char>(bytes, 'w');
}
WEFT_REMOTE(make_std_block);

std::uint64_t std_block_size(const std::vector<char>& block) {
  return block.size();
}
WEFT_REMOTE(std_block_size);

// The actor the actor benchmarks call on a worker.
class echo {
 public:
  int back(int x) { return x; }
};
WEFT_ACTOR(echo, &echo::back);

namespace {

constexpr std::size_t message_bytes = 64;
constexpr int pipelined = 10000;

int free_port() {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// Echoes every byte back, one thread per connection, until the process is killed.
[[noreturn]] void run_echo_server(int port) {
  asio::io_context io;
  tcp::acceptor acceptor(
      io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  for (;;) {
    auto socket = std::make_shared<tcp::socket>(io);
    acceptor.accept(*socket);
    socket->set_option(tcp::no_delay(true));
    std::thread([socket] {
      std::array<char, 65536> buffer;
      boost::system::error_code ec;
      for (;;) {
        std::size_t n = socket->read_some(asio::buffer(buffer), ec);
        if (ec) return;
        asio::write(*socket, asio::buffer(buffer.data(), n), ec);
        if (ec) return;
      }
    }).detach();
  }
}

// Reads an 8-byte length, then that many bytes, then answers one byte; per connection. With
// `fresh`, each message lands in newly allocated memory of its full size (what receiving an
// object costs), else in one reused 1 MiB buffer (the socket alone).
[[noreturn]] void run_sink_server(int port, bool fresh) {
  asio::io_context io;
  tcp::acceptor acceptor(
      io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  for (;;) {
    auto socket = std::make_shared<tcp::socket>(io);
    acceptor.accept(*socket);
    std::thread([socket, fresh] {
      std::vector<char> buffer(1 << 20);
      boost::system::error_code ec;
      for (;;) {
        std::uint64_t n = 0;
        asio::read(*socket, asio::buffer(&n, sizeof n), ec);
        if (ec) return;
        if (fresh) {
          std::unique_ptr<char[]> object(new char[n]);
          asio::read(*socket, asio::buffer(object.get(), n), ec);
          benchmark::DoNotOptimize(object.get());
        }
        while (!fresh && n > 0 && !ec)
          n -= socket->read_some(
              asio::buffer(buffer.data(), std::min<std::uint64_t>(n, buffer.size())), ec);
        char ack = 1;
        asio::write(*socket, asio::buffer(&ack, 1), ec);
        if (ec) return;
      }
    }).detach();
  }
}

struct children {
  std::vector<pid_t> pids;
  ~children() {
    for (pid_t p : pids) {
      ::kill(p, SIGKILL);
      int status = 0;
      ::waitpid(p, &status, 0);
    }
  }
};

std::string head_address;
int echo_port = 0;
int sink_port = 0;
int fresh_sink_port = 0;
constexpr std::uint64_t transfer_bytes = 1ull << 30;
weft::runtime* driver = nullptr;

void round_trip_asio(benchmark::State& state) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(echo_port)));
  socket.set_option(tcp::no_delay(true));
  std::array<char, message_bytes> out{}, in{};
  for (auto _ : state) {
    asio::write(socket, asio::buffer(out));
    asio::read(socket, asio::buffer(in));
    benchmark::DoNotOptimize(in);
  }
}

void round_trip_weft(benchmark::State& state) {
  int i = 0;
  for (auto _ : state) {
    int v = driver->submit(noop, ++i).get();
    benchmark::DoNotOptimize(v);
  }
}

// `messages` echo messages written back to back and read back, per item of `pipelined`.
void echo_back_to_back(benchmark::State& state, std::size_t messages) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(echo_port)));
  socket.set_option(tcp::no_delay(true));
  std::vector<char> out(message_bytes * messages, 'x'), in(out.size());
  for (auto _ : state) {
    std::thread writer([&] { asio::write(socket, asio::buffer(out)); });
    asio::read(socket, asio::buffer(in));
    writer.join();
  }
  state.SetItemsProcessed(state.iterations() * pipelined);
}

void pipelined_asio(benchmark::State& state) {
  echo_back_to_back(state, pipelined);
}

void pipelined_weft(benchmark::State& state) {
  std::vector<weft::ref<int>> refs;
  refs.reserve(pipelined);
  for (auto _ : state) {
    refs.clear();
    for (int i = 0; i < pipelined; ++i)
      refs.push_back(driver->submit(noop, i));
    long sum = 0;
    for (auto& r : refs)
      sum += r.get();
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * pipelined);
}

void stream_to(int port, benchmark::State& state) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  std::vector<char> block(transfer_bytes, 'w');
  auto send_block = [&] {
    std::uint64_t n = block.size();
    asio::write(socket, asio::buffer(&n, sizeof n));
    asio::write(socket, asio::buffer(block));
    char ack = 0;
    asio::read(socket, asio::buffer(&ack, 1));
  };
  send_block();  // untimed, as the weft transfer's first
  for (auto _ : state)
    send_block();
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(transfer_bytes));
}

void transfer_asio(benchmark::State& state) {
  stream_to(sink_port, state);
}

void transfer_asio_fresh(benchmark::State& state) {
  stream_to(fresh_sink_port, state);
}

// A new block made by `make` on worker a each time (not timed: worker b keeps what it
// pulled), then read by `read` on worker b.
template <class Block>
void transfer_with(benchmark::State& state, Block (*make)(std::uint64_t),
                   std::uint64_t (*read)(const Block&)) {
  weft::task_options on_a{.resources = {{"a", 1}}};
  weft::task_options on_b{.resources = {{"b", 1}}};
  // One untimed transfer first, as every run of a long-lived program after its first: the
  // workers' bulk pools then hold blocks already mapped.
  driver->submit(on_b, read, driver->submit(on_a, make, transfer_bytes)).get();
  for (auto _ : state) {
    state.PauseTiming();
    auto block = driver->submit(on_a, make, transfer_bytes);
    driver->wait(std::vector<weft::ref<Block>>{block});
    state.ResumeTiming();
    std::uint64_t n = driver->submit(on_b, read, block).get();
    if (n != transfer_bytes) state.SkipWithError("the block arrived with the wrong size");
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(transfer_bytes));
}

void transfer_weft(benchmark::State& state) {
  transfer_with(state, make_block, block_size);
}

void transfer_weft_std_vector(benchmark::State& state) {
  transfer_with(state, make_std_block, std_block_size);
}

// The id of the worker with resource `name`.
// How the benchmark's own queries reach the head (its address, and TLS when on).
weft::cluster_settings probe;

std::string worker_with(const std::string& name) {
  for (const auto& n : weft::query_cluster(probe).nodes)
    if (n.resources.count(name)) return n.id;
  return {};
}

weft::actor<echo> remote_echo() {
  return driver->spawn<echo>(weft::actor_options{.node = worker_with("b")});
}

void actor_chain_asio(benchmark::State& state) {
  echo_back_to_back(state, 2 * pipelined);
}

void actor_chain_weft(benchmark::State& state) {
  auto first = driver->spawn<echo>(weft::actor_options{.node = worker_with("a")});
  auto second = remote_echo();
  std::vector<weft::ref<int>> refs;
  refs.reserve(pipelined);
  for (auto _ : state) {
    refs.clear();
    for (int i = 0; i < pipelined; ++i)
      refs.push_back(second.call(&echo::back, first.call(&echo::back, i)));
    long sum = 0;
    for (auto& r : refs)
      sum += r.get();
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * pipelined);
}

void actor_round_trip_weft(benchmark::State& state) {
  auto e = remote_echo();
  int i = 0;
  for (auto _ : state) {
    int v = e.call(&echo::back, ++i).get();
    benchmark::DoNotOptimize(v);
  }
}

void actor_pipelined_weft(benchmark::State& state) {
  auto e = remote_echo();
  std::vector<weft::ref<int>> refs;
  refs.reserve(pipelined);
  for (auto _ : state) {
    refs.clear();
    for (int i = 0; i < pipelined; ++i)
      refs.push_back(e.call(&echo::back, i));
    long sum = 0;
    for (auto& r : refs)
      sum += r.get();
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * pipelined);
}

#ifdef WEFT_BENCH_WITH_CAF_IO
int caf_port = 0;

caf::behavior caf_echo() {
  return {[](int x) { return x; }};
}

// Publishes a CAF echo actor on 127.0.0.1:port (caf::io), until the process is killed.
[[noreturn]] void run_caf_server(int port) {
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system system{cfg};
  auto actor = system.spawn(caf_echo);
  auto published = system.middleman().publish(actor, static_cast<std::uint16_t>(port), "127.0.0.1");
  if (!published) {
    std::fprintf(stderr, "remote_bench: CAF cannot publish on port %d\n", port);
    std::exit(1);
  }
  for (;;)
    std::this_thread::sleep_for(std::chrono::hours(1));
}

// A CAF system connected to the published echo actor (retrying while the server starts).
struct caf_client {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> system;
  caf::actor remote;
  caf_client() {
    cfg.load<caf::io::middleman>();
    system = std::make_unique<caf::actor_system>(cfg);
    for (int i = 0; i < 100 && !remote; ++i) {
      auto found =
          system->middleman().remote_actor("127.0.0.1", static_cast<std::uint16_t>(caf_port));
      if (found) {
        remote = *found;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }
};

void actor_round_trip_caf(benchmark::State& state) {
  caf_client client;
  if (!client.remote) {
    state.SkipWithError("cannot reach the CAF echo server");
    return;
  }
  caf::scoped_actor self{*client.system};
  int i = 0;
  for (auto _ : state) {
    self->request(client.remote, caf::infinite, ++i)
        .receive([&](int x) { benchmark::DoNotOptimize(x); },
                 [&](caf::error&) { state.SkipWithError("CAF request failed"); });
  }
}

void actor_pipelined_caf(benchmark::State& state) {
  caf_client client;
  if (!client.remote) {
    state.SkipWithError("cannot reach the CAF echo server");
    return;
  }
  caf::scoped_actor self{*client.system};
  for (auto _ : state) {
    for (int i = 0; i < pipelined; ++i)
      self->send(client.remote, i);
    long sum = 0;
    int got = 0;
    self->receive_for(got, pipelined)([&](int x) { sum += x; });
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * pipelined);
}
#endif

}  // namespace

BENCHMARK(round_trip_asio)->Name("round_trip:asio")->UseRealTime();
BENCHMARK(round_trip_weft)->Name("round_trip:weft")->UseRealTime();
BENCHMARK(pipelined_asio)->Name("pipelined_10k:asio")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(pipelined_weft)->Name("pipelined_10k:weft")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(round_trip_asio)->Name("actor_round_trip:asio")->UseRealTime();
BENCHMARK(actor_round_trip_weft)->Name("actor_round_trip:weft")->UseRealTime();
BENCHMARK(pipelined_asio)
    ->Name("actor_pipelined_10k:asio")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(actor_pipelined_weft)
    ->Name("actor_pipelined_10k:weft")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(actor_chain_asio)
    ->Name("actor_chain_10k:asio")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(actor_chain_weft)
    ->Name("actor_chain_10k:weft")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
#ifdef WEFT_BENCH_WITH_CAF_IO
BENCHMARK(actor_round_trip_caf)->Name("actor_round_trip:caf")->UseRealTime();
BENCHMARK(actor_pipelined_caf)
    ->Name("actor_pipelined_10k:caf")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
#endif
BENCHMARK(transfer_asio)
    ->Name("transfer_1GiB:asio")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);
BENCHMARK(transfer_asio_fresh)
    ->Name("transfer_1GiB:asio_fresh")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);
BENCHMARK(transfer_weft)
    ->Name("transfer_1GiB:weft")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);
BENCHMARK(transfer_weft_std_vector)
    ->Name("transfer_1GiB:weft_std_vector")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);

int main(int argc, char** argv) {
  if (const char* port = std::getenv("WEFT_BENCH_ECHO_PORT")) run_echo_server(std::atoi(port));
  if (const char* port = std::getenv("WEFT_BENCH_SINK_PORT"))
    run_sink_server(std::atoi(port), false);
  if (const char* port = std::getenv("WEFT_BENCH_FRESH_SINK_PORT"))
    run_sink_server(std::atoi(port), true);
#ifdef WEFT_BENCH_WITH_CAF_IO
  if (const char* port = std::getenv("WEFT_BENCH_CAF_PORT")) run_caf_server(std::atoi(port));
#endif
  if (std::getenv("WEFT_ROLE")) {
    weft::runtime node{weft::config::from_env()};  // a head or worker: serves, then exits
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  std::filesystem::path tls_dir;
  if (const char* tls = std::getenv("WEFT_BENCH_TLS"); tls && std::string(tls) == "1") {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "weft-bench-tls-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::fprintf(stderr, "remote_bench: cannot make a directory for the TLS files\n");
      return 1;
    }
    tls_dir = pattern;
    const weft::tls_files files = weft::make_tls_files(tls_dir / "set");
    probe.tls_cert = files.cert.string();
    probe.tls_key = files.key.string();
    probe.tls_ca = files.ca.string();
    // The children (head, workers) inherit these.
    ::setenv("WEFT_TLS_CERT", probe.tls_cert.c_str(), 1);
    ::setenv("WEFT_TLS_KEY", probe.tls_key.c_str(), 1);
    ::setenv("WEFT_TLS_CA", probe.tls_ca.c_str(), 1);
    std::printf("weft's cluster runs over mutual TLS 1.3; the baselines over plain TCP\n");
  }
  children kids;
  head_address = "127.0.0.1:" + std::to_string(free_port());
  echo_port = free_port();
  kids.pids.push_back(
      weft_bench::spawn_self({"WEFT_BENCH_ECHO_PORT=" + std::to_string(echo_port)}));
  kids.pids.push_back(
      weft_bench::spawn_self({"WEFT_ROLE=head", "WEFT_ADDRESS=" + head_address, "WEFT_THREADS=1"}));
#ifdef WEFT_BENCH_WITH_CAF_IO
  caf_port = free_port();
  kids.pids.push_back(weft_bench::spawn_self({"WEFT_BENCH_CAF_PORT=" + std::to_string(caf_port)}));
#endif
  sink_port = free_port();
  kids.pids.push_back(
      weft_bench::spawn_self({"WEFT_BENCH_SINK_PORT=" + std::to_string(sink_port)}));
  fresh_sink_port = free_port();
  kids.pids.push_back(
      weft_bench::spawn_self({"WEFT_BENCH_FRESH_SINK_PORT=" + std::to_string(fresh_sink_port)}));
  kids.pids.push_back(weft_bench::spawn_self(
      {"WEFT_ROLE=worker", "WEFT_ADDRESS=" + head_address, "WEFT_RESOURCES=a=1"}));
  kids.pids.push_back(weft_bench::spawn_self(
      {"WEFT_ROLE=worker", "WEFT_ADDRESS=" + head_address, "WEFT_RESOURCES=b=1"}));
  weft::config cfg;
  cfg.cluster.address = head_address;
  cfg.cluster.offload_threshold = 0;  // every registered task goes to the worker
  cfg.cluster.tls_cert = probe.tls_cert;
  cfg.cluster.tls_key = probe.tls_key;
  cfg.cluster.tls_ca = probe.tls_ca;
  probe.address = head_address;
  for (int i = 0; i < 100; ++i) {  // until the head lists the worker
    try {
      if (weft::query_cluster(probe, std::chrono::seconds(1)).nodes.size() == 3) break;
    } catch (const weft::error&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  {
    weft::runtime rt{cfg};
    driver = &rt;
    weft_bench::ratio_reporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    driver = nullptr;
  }
  try {
    weft::stop_cluster(probe);
  } catch (const weft::error& e) {
    std::fprintf(stderr, "remote_bench: stopping the cluster: %s\n", e.what());
  }
  benchmark::Shutdown();
  if (!tls_dir.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(tls_dir, ignored);
  }
  return 0;
}
