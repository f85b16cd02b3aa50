// The object arena: put by move (1 MiB and 1 GiB) beside a memcpy of the same bytes; small
// put+get beside std::make_shared; spill and restore bandwidth beside plain write()/read() of
// the same bytes in the same directory.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>
#include <weft/weft.hpp>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/ratio_reporter.hpp"

namespace {

namespace fs = std::filesystem;
using block = std::vector<std::byte>;
using clock_type = std::chrono::steady_clock;

constexpr std::size_t spill_object_bytes = 16u << 20;
constexpr int spill_objects = 16;  // 256 MiB per iteration

// A scratch directory for spill files and their baseline, removed at exit.
const fs::path& scratch() {
  static const fs::path dir = [] {
    std::string pattern = (fs::temp_directory_path() / "weft-arena-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(scratch(), ec);
    });
    return fs::path(pattern);
  }();
  return dir;
}

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

void put_move_weft(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  weft::config cfg;
  cfg.arena_bytes = 4ull << 30;
  weft::runtime rt(cfg);
  block value(bytes, std::byte{1});
  for (auto _ : state) {
    auto r = rt.put(std::move(value));
    benchmark::DoNotOptimize(r);
    value = std::move(r).get();  // the only ref: moved back out, no copy
  }
  if (value.size() != bytes) state.SkipWithError("the value changed size");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

void put_move_memcpy(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  block from(bytes, std::byte{1});
  block to(bytes, std::byte{0});
  for (auto _ : state) {
    std::memcpy(to.data(), from.data(), bytes);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

void put_get_small_weft(benchmark::State& state) {
  weft::runtime rt;
  std::int64_t sum = 0;
  for (auto _ : state) {
    auto r = rt.put(static_cast<std::int64_t>(state.iterations()));
    sum += r.get();
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}

void put_get_small_shared_ptr(benchmark::State& state) {
  std::int64_t sum = 0;
  for (auto _ : state) {
    auto p = std::make_shared<const std::int64_t>(state.iterations());
    benchmark::DoNotOptimize(p);
    sum += *p;
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}

std::vector<block> spill_inputs() {
  std::vector<block> blocks;
  for (int i = 0; i < spill_objects; ++i)
    blocks.emplace_back(spill_object_bytes, std::byte(static_cast<unsigned char>(i)));
  return blocks;
}

// Puts every block into an arena with a 1-byte budget (so each is spilled once nobody reads
// it), waits until all are written, then reads each back with share().
void spill_restore_weft(benchmark::State& state, bool restore) {
  std::vector<block> inputs = spill_inputs();
  for (auto _ : state) {
    std::vector<block> blocks = inputs;
    weft::config cfg;
    cfg.arena_bytes = 1;
    cfg.spill_dir = scratch().string();
    weft::runtime rt(cfg);
    std::vector<weft::ref<block>> refs;
    auto start = clock_type::now();
    for (auto& b : blocks)
      refs.push_back(rt.put(std::move(b)));
    for (int i = 0; i < 100000 && rt.arena_stats().spills < spill_objects; ++i)
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    double spill_time = seconds_since(start);
    if (rt.arena_stats().spills < spill_objects) state.SkipWithError("spills did not finish");
    start = clock_type::now();
    for (auto& r : refs) {
      auto p = r.share();
      benchmark::DoNotOptimize(p->data());
    }
    double restore_time = seconds_since(start);
    state.SetIterationTime(restore ? restore_time : spill_time);
  }
  state.SetBytesProcessed(
      static_cast<std::int64_t>(state.iterations() * spill_objects * spill_object_bytes));
}

void spill_weft(benchmark::State& state) {
  spill_restore_weft(state, false);
}
void restore_weft(benchmark::State& state) {
  spill_restore_weft(state, true);
}

// The baseline: the same blocks written to one file each with write(), then read back with
// read() into a freshly allocated buffer, each freed once the next one is read: the pattern of
// the weft run, where the arena drops a restored block when the next restore needs room.
// (Freeing each buffer before the next read would let malloc hand back the same, already
// mapped, memory and skip the page faults any restore into new memory pays.)
void write_read_plain(benchmark::State& state, bool read_back) {
  std::vector<block> inputs = spill_inputs();
  for (auto _ : state) {
    std::vector<std::string> paths;
    auto start = clock_type::now();
    for (int i = 0; i < spill_objects; ++i) {
      paths.push_back((scratch() / ("plain-" + std::to_string(i))).string());
      int fd = ::open(paths.back().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd < 0 || ::write(fd, inputs[i].data(), inputs[i].size()) !=
                        static_cast<ssize_t>(inputs[i].size())) {
        state.SkipWithError("write failed");
      }
      ::close(fd);
    }
    double write_time = seconds_since(start);
    block previous;
    start = clock_type::now();
    for (const auto& path : paths) {
      block buffer(spill_object_bytes);
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 ||
          ::read(fd, buffer.data(), buffer.size()) != static_cast<ssize_t>(buffer.size())) {
        state.SkipWithError("read failed");
      }
      ::close(fd);
      benchmark::DoNotOptimize(buffer.data());
      previous = std::move(buffer);
    }
    double read_time = seconds_since(start);
    for (const auto& path : paths)
      ::unlink(path.c_str());
    state.SetIterationTime(read_back ? read_time : write_time);
  }
  state.SetBytesProcessed(
      static_cast<std::int64_t>(state.iterations() * spill_objects * spill_object_bytes));
}

void spill_plain(benchmark::State& state) {
  write_read_plain(state, false);
}
void restore_plain(benchmark::State& state) {
  write_read_plain(state, true);
}

}  // namespace

BENCHMARK(put_move_weft)->Name("put_move:weft")->Arg(1 << 20)->Arg(1 << 30)->UseRealTime();
BENCHMARK(put_move_memcpy)->Name("put_move:memcpy")->Arg(1 << 20)->Arg(1 << 30)->UseRealTime();
BENCHMARK(put_get_small_weft)->Name("put_get_small:weft")->UseRealTime();
BENCHMARK(put_get_small_shared_ptr)->Name("put_get_small:shared_ptr")->UseRealTime();
BENCHMARK(spill_weft)->Name("spill_256MiB:weft")->Unit(benchmark::kMillisecond)->UseManualTime();
BENCHMARK(spill_plain)->Name("spill_256MiB:write")->Unit(benchmark::kMillisecond)->UseManualTime();
BENCHMARK(restore_weft)
    ->Name("restore_256MiB:weft")
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();
BENCHMARK(restore_plain)
    ->Name("restore_256MiB:read")
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();

WEFT_BENCHMARK_MAIN()
