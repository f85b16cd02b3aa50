// weft/spill_store.hpp and the arena's spilling: budget, restore, corruption, pluggable stores.
#include "weft/spill_store.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "temp_dir.hpp"
#include "weft/remote.hpp"
#include "weft/weft.hpp"
#include "wire/crc32c.hpp"

namespace {

namespace fs = std::filesystem;

// A fresh directory for one test, removed at its end.
struct temp_dir : weft_test::temp_dir {
  temp_dir() : weft_test::temp_dir("weft-spill-test") {}
};

// A two-thread runtime's settings with an arena budget of `budget` bytes spilling into `dir`.
weft::config spill_config(const temp_dir& dir, std::uint64_t budget) {
  weft::config cfg;
  cfg.threads = 2;
  cfg.arena_bytes = budget;
  cfg.spill_dir = dir.path.string();
  return cfg;
}

// Deterministic contents for object `seed`.
std::vector<std::uint64_t> make_block(std::uint64_t seed, std::size_t words) {
  std::vector<std::uint64_t> v(words);
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& w : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    w = x;
  }
  return v;
}

std::uint32_t checksum(const std::vector<std::uint64_t>& v) {
  return weft::wire::crc32c(0, v.data(), v.size() * sizeof(std::uint64_t));
}

// Waits (bounded) until the arena is back within its budget after a burst of puts.
void settle(weft::runtime& rt) {
  for (int i = 0; i < 5000 && rt.arena_stats().bytes_in_memory > rt.arena_stats().budget; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

// The weft-spill-* directory the default store made under `parent`.
fs::path spill_subdir(const fs::path& parent) {
  for (const auto& entry : fs::directory_iterator(parent)) {
    if (entry.path().filename().string().rfind("weft-spill-", 0) == 0) return entry.path();
  }
  return {};
}

// A user-defined type spilled through cereal.
struct record {
  std::string name;
  std::vector<std::string> tags;
  std::map<int, double> scores;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, tags, scores);
  }
  bool operator==(const record&) const = default;
};

// The same type, never given a codec: cereal could write it, but nothing registered it.
struct unregistered_record {
  std::string name;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(name);
  }
};

}  // namespace

WEFT_SERIALIZABLE(record);

namespace weft {
// The arena cannot see inside a user type: it says how much memory it holds.
template <>
struct object_size<record> {
  static std::size_t of(const record& r) noexcept {
    return sizeof(r) + size_of(r.name) + size_of(r.tags) + size_of(r.scores);
  }
};
template <>
struct object_size<unregistered_record> {
  static std::size_t of(const unregistered_record& r) noexcept { return size_of(r.name); }
};
}  // namespace weft

TEST_CASE("with a 64 MiB budget, 1 GiB in 1 MiB objects spills and reads back exactly") {
  temp_dir dir;
  const weft::config cfg = spill_config(dir, 64ull << 20);
  constexpr int objects = 1024;
  constexpr std::size_t words = (1 << 20) / sizeof(std::uint64_t);
  {
    weft::runtime rt(cfg);
    std::vector<weft::ref<std::vector<std::uint64_t>>> refs;
    std::vector<std::uint32_t> sums;
    std::uint64_t peak = 0;
    for (int i = 0; i < objects; ++i) {
      auto block = make_block(static_cast<std::uint64_t>(i), words);
      sums.push_back(checksum(block));
      refs.push_back(rt.put(std::move(block)));
      peak = std::max(peak, rt.arena_stats().bytes_in_memory);
    }
    // The arena lets a burst run over by half the budget at most before put helps spilling.
    CHECK(peak <= cfg.arena_bytes + cfg.arena_bytes / 2 + (2u << 20));
    settle(rt);
    weft::arena_stats after_put = rt.arena_stats();
    CHECK(after_put.objects == objects);
    CHECK(after_put.bytes_in_memory <= cfg.arena_bytes);
    CHECK(after_put.spills >= objects - 64);
    CHECK(after_put.bytes_spilled >= (objects - 64ull) << 20);
    CHECK(fs::exists(spill_subdir(dir.path)));

    // Read back half in tasks, half with share(): every byte must match.
    std::vector<weft::ref<std::uint32_t>> task_sums;
    for (int i = 0; i < objects; i += 2) {
      task_sums.push_back(
          rt.submit([](const std::vector<std::uint64_t>& v) { return checksum(v); }, refs[i]));
    }
    for (int i = 0; i < objects / 2; ++i)
      CHECK(task_sums[i].get() == sums[2 * i]);
    for (int i = 1; i < objects; i += 2) {
      auto p = refs[i].share();
      REQUIRE(p->size() == words);
      CHECK(checksum(*p) == sums[i]);
    }
    weft::arena_stats s = rt.arena_stats();
    CHECK(s.restores >= objects - 64);
    CHECK(s.lost == 0);
    CHECK(s.spill_failures == 0);
    CHECK(s.objects == objects);
  }
  // Runtime and refs gone: the spill directory is removed.
  CHECK(spill_subdir(dir.path).empty());
}

TEST_CASE("a truncated, flipped or missing spill file loses that object only") {
  temp_dir dir;
  const weft::config cfg = spill_config(dir, 4 << 20);
  weft::runtime rt(cfg);
  constexpr int objects = 16;
  constexpr std::size_t words = (1 << 20) / sizeof(std::uint64_t);
  std::vector<weft::ref<std::vector<std::uint64_t>>> refs;
  std::vector<std::uint32_t> sums;
  for (int i = 0; i < objects; ++i) {
    auto block = make_block(static_cast<std::uint64_t>(i) + 100, words);
    sums.push_back(checksum(block));
    refs.push_back(rt.put(std::move(block)));
  }
  settle(rt);
  // Objects are numbered from 1 in put order, and the oldest are spilled first.
  fs::path sub = spill_subdir(dir.path);
  REQUIRE(fs::exists(sub / "1.obj"));
  REQUIRE(fs::exists(sub / "2.obj"));
  REQUIRE(fs::exists(sub / "3.obj"));
  fs::resize_file(sub / "1.obj", fs::file_size(sub / "1.obj") / 2);
  {
    std::fstream f(sub / "2.obj", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40 + 12345);
    char c = 0;
    f.read(&c, 1);
    f.seekp(40 + 12345);
    c = static_cast<char>(c ^ 0x20);
    f.write(&c, 1);
  }
  fs::remove(sub / "3.obj");

  auto message_of = [&](int i) -> std::string {
    try {
      auto p = refs[i].share();
      CHECK(checksum(*p) == sums[i]);
      return "";
    } catch (const weft::object_lost& e) {
      return e.what();
    }
  };
  std::string truncated = message_of(0);
  CHECK(truncated.find((sub / "1.obj").string()) != std::string::npos);
  CHECK(truncated.find("truncated") != std::string::npos);
  CHECK(truncated.find("object 1 (std::vector<unsigned long") != std::string::npos);
  CHECK(message_of(1).find("checksum does not match") != std::string::npos);
  CHECK(message_of(2).find("cannot open") != std::string::npos);
  for (int i = 3; i < objects; ++i)
    CHECK(message_of(i).empty());
  // A lost object stays lost, with the same error, for tasks and for get().
  CHECK(message_of(0) == truncated);
  auto task = rt.submit([](const std::vector<std::uint64_t>& v) { return v.size(); }, refs[0]);
  CHECK_THROWS_WITH_AS(task.get(), truncated.c_str(), weft::object_lost);
  CHECK_THROWS_AS(refs[1].get(), weft::object_lost);
  CHECK(rt.arena_stats().lost == 3);
}

namespace {
// A spill store in memory that counts its calls: the arena works with any backend.
class memory_store final : public weft::spill_store {
 public:
  std::unique_ptr<writer> create(std::uint64_t id) override {
    return std::make_unique<blob_writer>(*this, id);
  }
  std::unique_ptr<reader> open(std::uint64_t id) override {
    std::lock_guard lock(mutex_);
    auto it = blobs_.find(id);
    if (it == blobs_.end()) throw std::runtime_error("no such blob");
    return std::make_unique<blob_reader>(it->second);
  }
  void erase(std::uint64_t id) noexcept override {
    std::lock_guard lock(mutex_);
    blobs_.erase(id);
  }
  std::string location(std::uint64_t id) const override {
    return "memory blob " + std::to_string(id);
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return blobs_.size();
  }
  std::atomic<int> writes{0};

 private:
  struct blob_writer final : writer {
    blob_writer(memory_store& s, std::uint64_t i) : store(s), id(i) {}
    void append(std::span<const std::byte> bytes) override {
      blob.insert(blob.end(), bytes.begin(), bytes.end());
    }
    void commit() override {
      std::lock_guard lock(store.mutex_);
      store.blobs_[id] = std::move(blob);
      ++store.writes;
    }
    memory_store& store;
    std::uint64_t id;
    std::vector<std::byte> blob;
  };
  struct blob_reader final : reader {
    explicit blob_reader(std::vector<std::byte> b) : blob(std::move(b)) {}
    void read(std::span<std::byte> into) override {
      if (offset + into.size() > blob.size()) throw std::runtime_error("short blob");
      std::copy_n(blob.begin() + static_cast<std::ptrdiff_t>(offset), into.size(), into.begin());
      offset += into.size();
    }
    std::vector<std::byte> blob;
    std::size_t offset = 0;
  };

  std::mutex mutex_;
  std::map<std::uint64_t, std::vector<std::byte>> blobs_;
};
}  // namespace

TEST_CASE("a plugged-in spill store receives spills; cereal types round-trip through it") {
  auto store = std::make_shared<memory_store>();
  weft::config cfg;
  cfg.threads = 2;
  cfg.arena_bytes = 1 << 20;
  cfg.spill_backend = store;
  {
    weft::runtime rt(cfg);
    std::vector<weft::ref<record>> refs;
    std::vector<record> expected;
    for (int i = 0; i < 64; ++i) {
      record r{"record " + std::to_string(i), {}, {}};
      for (int k = 0; k < 200; ++k) {
        r.tags.push_back(std::string(100, static_cast<char>('a' + (i + k) % 26)));
        r.scores[k] = i * 0.5 + k;
      }
      expected.push_back(r);
      refs.push_back(rt.put(std::move(r)));
    }
    settle(rt);
    CHECK(store->writes > 0);
    CHECK(rt.arena_stats().spills > 0);
    for (int i = 0; i < 64; ++i)
      CHECK(*refs[i].share() == expected[i]);
    CHECK(rt.arena_stats().restores > 0);
    // A spill after a restore reuses the stored copy: no second write of the same object.
    const auto writes = rt.arena_stats().spill_writes;
    CHECK(writes == static_cast<std::uint64_t>(store->writes.load()));
    refs.clear();
    CHECK(store->size() == 0);  // freed objects' blobs are erased
  }
}

TEST_CASE("a type without a codec stays in memory, and a put over the budget says what to do") {
  temp_dir dir;
  weft::config cfg = spill_config(dir, 1 << 20);
  weft::runtime rt(cfg);
  std::vector<weft::ref<unregistered_record>> refs;
  for (int i = 0; i < 3; ++i)
    refs.push_back(rt.put(unregistered_record{std::string(300 << 10, 'x')}));
  settle(rt);
  CHECK(rt.arena_stats().spills == 0);
  try {
    rt.put(unregistered_record{std::string(300 << 10, 'y')});
    FAIL("a fourth pinned object over the budget was accepted");
  } catch (const weft::error& e) {
    const std::string what = e.what();
    CHECK(what.find("unregistered_record") != std::string::npos);
    CHECK(what.find("cannot be spilled") != std::string::npos);
    CHECK(what.find("WEFT_SERIALIZABLE(type), from weft/remote.hpp") != std::string::npos);
  }
  for (const auto& r : refs)
    CHECK(r.get().name.size() == (300u << 10));
}

TEST_CASE("eight threads putting and reading under a small budget lose nothing") {
  temp_dir dir;
  const weft::config cfg = spill_config(dir, 2 << 20);
  weft::runtime rt(cfg);
  constexpr int threads = 8;
  constexpr int rounds = 150;
  std::atomic<int> mismatches{0};
  std::atomic<int> checked{0};
  std::vector<std::thread> pool;
  std::mutex kept_mutex;
  std::vector<std::pair<weft::ref<std::vector<std::uint64_t>>, std::uint32_t>> kept;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<std::uint64_t>(t));
      std::vector<std::pair<weft::ref<std::vector<std::uint64_t>>, std::uint32_t>> mine;
      for (int i = 0; i < rounds; ++i) {
        std::size_t words = 128 + rng() % (32 * 1024);  // 1 KiB to 257 KiB
        auto block = make_block(rng(), words);
        std::uint32_t sum = checksum(block);
        mine.emplace_back(rt.put(std::move(block)), sum);
        auto& [ref, expected] = mine[rng() % mine.size()];
        std::uint32_t got =
            (i % 2 == 0)
                ? checksum(*ref.share())
                : rt.submit([](const std::vector<std::uint64_t>& v) { return checksum(v); }, ref)
                      .get();
        if (got != expected) ++mismatches;
        ++checked;
        if (mine.size() > 40) mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(rng() % 40));
      }
      std::lock_guard lock(kept_mutex);
      for (auto& m : mine)
        kept.push_back(std::move(m));
    });
  }
  for (auto& th : pool)
    th.join();
  CHECK(checked == threads * rounds);
  CHECK(mismatches == 0);
  for (auto& [ref, expected] : kept)
    CHECK(checksum(*ref.share()) == expected);
  weft::arena_stats s = rt.arena_stats();
  CHECK(s.objects == kept.size());
  CHECK(s.lost == 0);
  CHECK(s.spills > 0);
  kept.clear();
  CHECK(rt.arena_stats().objects == 0);
  CHECK(rt.arena_stats().bytes_in_memory == 0);
  CHECK(rt.arena_stats().bytes_spilled == 0);
}

TEST_CASE("a spill directory path that is a file is refused when the runtime starts") {
  temp_dir dir;
  fs::path file = dir.path / "not-a-dir";
  std::ofstream(file) << "x";
  weft::config cfg;
  cfg.spill_dir = file.string();
  CHECK_THROWS_WITH_AS(weft::runtime{cfg}, doctest::Contains("is not a directory"),
                       weft::config_error);
}

TEST_CASE(
    "a spill directory that cannot be created or written is refused when the runtime starts") {
  temp_dir dir;
  fs::path file = dir.path / "a-file";
  std::ofstream(file) << "x";
  weft::config cfg;
  cfg.spill_dir = (file / "spills").string();
  const std::string refused = "spill directory '" + cfg.spill_dir +
                              "' cannot be created (Not a directory); set config.spill_dir or "
                              "WEFT_SPILL_DIR to a directory";
  CHECK_THROWS_WITH_AS(weft::runtime{cfg}, doctest::Contains(refused.c_str()), weft::config_error);
  // A missing directory whose parent can be written is made.
  cfg.spill_dir = (dir.path / "new" / "spills").string();
  CHECK_NOTHROW(weft::runtime{cfg});
  CHECK(fs::is_directory(cfg.spill_dir));
  if (::geteuid() == 0) return;  // root writes anywhere: no read-only directory to try
  fs::path read_only = dir.path / "read-only";
  fs::create_directory(read_only);
  fs::permissions(read_only, fs::perms::owner_read | fs::perms::owner_exec);
  cfg.spill_dir = read_only.string();
  CHECK_THROWS_WITH_AS(weft::runtime{cfg},
                       doctest::Contains("' cannot be written (Permission denied)"),
                       weft::config_error);
  fs::permissions(read_only, fs::perms::owner_all);
}

TEST_CASE("under spill pressure an object still ends exactly when its last ref goes") {
  temp_dir dir;
  const weft::config cfg = spill_config(dir, 1 << 20);
  weft::runtime rt(cfg);
  std::vector<weft::ref<std::vector<std::uint64_t>>> refs;
  for (int i = 0; i < 64; ++i)
    refs.push_back(rt.put(make_block(static_cast<std::uint64_t>(i), 32 * 1024)));
  // Drop them while background spills are still choosing among them.
  while (!refs.empty()) {
    refs.pop_back();
    CHECK(rt.arena_stats().objects == refs.size());
  }
  weft::arena_stats s = rt.arena_stats();
  CHECK(s.bytes_in_memory == 0);
  CHECK(s.bytes_spilled == 0);
}

TEST_CASE("when the last reader lets go of an object over the budget, it is spilled again") {
  temp_dir dir;
  const weft::config cfg = spill_config(dir, 256 << 10);
  weft::runtime rt(cfg);
  auto block = make_block(5, (1 << 20) / sizeof(std::uint64_t));
  const std::uint32_t sum = checksum(block);
  auto big = rt.put(std::move(block));  // 1 MiB, four times the budget
  settle(rt);
  CHECK(rt.arena_stats().bytes_spilled > 0);
  {
    auto p = big.share();  // restored and pinned: over the budget while it is read
    CHECK(checksum(*p) == sum);
    CHECK(rt.arena_stats().bytes_in_memory > cfg.arena_bytes);
  }
  settle(rt);
  CHECK(rt.arena_stats().bytes_in_memory <= cfg.arena_bytes);
  CHECK(rt.arena_stats().restores == 1);
}
