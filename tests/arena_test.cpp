// weft/arena.hpp and runtime::put: sizes, zero-copy sharing, freeing, pinning, statistics.
#include "weft/arena.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/flag.hpp"
#include "weft/weft.hpp"

namespace {

// Counts copies, moves and destructions of every instance.
struct counted {
  static inline std::atomic<int> copies{0};
  static inline std::atomic<int> moves{0};
  static inline std::atomic<int> destroyed{0};
  static void reset() {
    copies = 0;
    moves = 0;
    destroyed = 0;
  }

  explicit counted(int v) : value(v), payload(1000, v) {}
  counted(const counted& o) : value(o.value), payload(o.payload) { ++copies; }
  counted(counted&& o) noexcept : value(o.value), payload(std::move(o.payload)) { ++moves; }
  counted& operator=(const counted&) = delete;
  counted& operator=(counted&&) = delete;
  ~counted() { ++destroyed; }

  int value;
  std::vector<int> payload;
};

// A type cereal cannot serialize: it can be put but never spilled.
struct unserializable {
  std::vector<std::byte> bytes;
  std::unique_ptr<int> handle = std::make_unique<int>(7);
};

// A task that returns 1 once `open` is true: holds dependents pending until the test says.
weft::ref<int> gate_task(weft::runtime& rt, std::atomic<bool>& open) {
  return rt.submit([&open] {
    weft_test::wait_for_flag(open);
    return 1;
  });
}

weft::config small_config() {
  weft::config cfg;
  cfg.threads = 2;
  return cfg;
}

}  // namespace

TEST_CASE("size_of counts heap memory of standard containers") {
  std::vector<int> v;
  v.reserve(100);
  CHECK(weft::size_of(v) == sizeof(v) + 100 * sizeof(int));
  CHECK(weft::size_of(42) == sizeof(int));
  std::string s(1000, 'x');
  CHECK(weft::size_of(s) >= sizeof(s) + 1000);
  std::vector<std::string> nested(3, std::string(500, 'y'));
  CHECK(weft::size_of(nested) >= sizeof(nested) + 3 * (sizeof(std::string) + 500));
  std::map<int, std::vector<double>> m{{1, std::vector<double>(10)}, {2, std::vector<double>(20)}};
  CHECK(weft::size_of(m) >= sizeof(m) + 30 * sizeof(double));
  std::pair<std::vector<char>, int> p{std::vector<char>(64), 1};
  CHECK(weft::size_of(p) == sizeof(p) + p.first.capacity());
}

namespace weft {
// A user specialisation: the size a type reports for itself.
template <>
struct object_size<unserializable> {
  static std::size_t of(const unserializable& u) noexcept { return sizeof(u) + u.bytes.size(); }
};
}  // namespace weft

TEST_CASE("object_size can be specialised for a user type") {
  unserializable u{std::vector<std::byte>(12345), nullptr};
  CHECK(weft::size_of(u) == sizeof(u) + 12345);
}

TEST_CASE("put shares one value with 1,000 concurrent readers without copying") {
  counted::reset();
  {
    weft::runtime rt(small_config());
    auto obj = rt.put(counted(7));
    CHECK(counted::copies == 0);
    CHECK(counted::moves <= 1);
    const int moves_after_put = counted::moves;

    std::vector<weft::ref<const counted*>> readers;
    for (int i = 0; i < 1000; ++i)
      readers.push_back(rt.submit([](const counted& c) { return &c; }, obj));
    const counted* address = &obj.get();
    for (auto& r : readers)
      CHECK(r.get() == address);
    CHECK(rt.submit([](const counted& c) { return c.payload.at(999); }, obj).get() == 7);
    CHECK(obj.share().get() == address);

    struct reader_actor {
      int read(const counted& c) const { return c.value; }
    };
    auto reader = rt.spawn<reader_actor>();
    CHECK(reader.call(&reader_actor::read, obj).get() == 7);

    CHECK(counted::copies == 0);
    CHECK(counted::moves == moves_after_put);
  }
  CHECK(counted::destroyed == counted::moves + 1);
}

TEST_CASE("an object is freed exactly when its last ref goes, pending tasks included") {
  counted::reset();
  weft::runtime rt(small_config());
  std::atomic<bool> open{false};
  auto gate = gate_task(rt, open);
  auto obj = rt.put(counted(3));
  auto reader = rt.submit([](const counted& c, int) { return c.value; }, obj, gate);
  const int destroyed_before = counted::destroyed;
  CHECK(rt.arena_stats().objects == 1);
  obj = {};  // the pending task still holds it
  CHECK(counted::destroyed == destroyed_before);
  open = true;
  CHECK(reader.get() == 3);
  // The task drops its arguments before publishing its result.
  CHECK(counted::destroyed == destroyed_before + 1);
  CHECK(rt.arena_stats().objects == 0);
  CHECK(rt.arena_stats().bytes_in_memory == 0);
}

TEST_CASE("a cancelled task releases the objects it held") {
  counted::reset();
  weft::runtime rt(small_config());
  std::atomic<bool> open{false};
  auto gate = gate_task(rt, open);
  auto obj = rt.put(counted(5));
  auto reader = rt.submit([](const counted& c, int) { return c.value; }, obj, gate);
  const int destroyed_before = counted::destroyed;
  CHECK(rt.cancel(reader));
  obj = {};
  CHECK(counted::destroyed == destroyed_before + 1);
  CHECK(rt.arena_stats().objects == 0);
  open = true;
  CHECK(gate.get() == 1);
  CHECK_THROWS_AS(reader.get(), weft::cancelled_error);
}

TEST_CASE("arena_stats counts put objects and large task results, not small ones") {
  weft::runtime rt(small_config());
  auto a = rt.put(std::vector<char>(1 << 20, 'a'));
  auto small = rt.submit([] { return 42; });
  CHECK(small.get() == 42);
  auto large = rt.submit([] { return std::vector<char>(1 << 20, 'b'); });
  CHECK(large.get().size() == 1u << 20);
  weft::arena_stats s = rt.arena_stats();
  CHECK(s.objects == 2);
  CHECK(s.bytes_in_memory >= 2u << 20);
  CHECK(s.bytes_spilled == 0);
  CHECK(s.spills == 0);
  a = {};
  CHECK(rt.arena_stats().objects == 1);  // a put object ends with its last ref
  large = {};
  // A task's result state is also referenced by the scheduler until the worker that ran it
  // has finished its bookkeeping, which may be just after get() returned.
  for (int i = 0; i < 2000 && rt.arena_stats().objects != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(rt.arena_stats().objects == 0);
}

TEST_CASE("get() pins an object for good; share() pins it while the pointer lives") {
  weft::runtime rt(small_config());
  auto a = rt.put(std::vector<char>(4096, 'a'));
  auto b = rt.put(std::vector<char>(4096, 'b'));
  CHECK(rt.arena_stats().bytes_pinned == 0);
  CHECK(a.get()[0] == 'a');
  const auto pinned = rt.arena_stats().bytes_pinned;
  CHECK(pinned == weft::size_of(a.get()));
  CHECK(a.get()[1] == 'a');  // a second get() pins nothing more
  CHECK(rt.arena_stats().bytes_pinned == pinned);
  std::shared_ptr<const std::vector<char>> shared = b.share();
  CHECK(rt.arena_stats().bytes_pinned == pinned);  // a share is not for good
  b = {};
  CHECK((*shared)[4095] == 'b');  // the pointer keeps the value alive
  CHECK(rt.arena_stats().objects == 2);
  shared.reset();
  CHECK(rt.arena_stats().objects == 1);
}

TEST_CASE("an object that cannot be serialized is pinned, and put refuses to exceed the budget") {
  weft::config cfg = small_config();
  cfg.arena_bytes = 4 << 20;
  weft::runtime rt(cfg);
  std::vector<weft::ref<unserializable>> kept;
  for (int i = 0; i < 3; ++i)
    kept.push_back(rt.put(unserializable{std::vector<std::byte>(1 << 20), nullptr}));
  CHECK(rt.arena_stats().bytes_pinned == 3 * weft::size_of(kept[0].get()));
  unserializable extra{std::vector<std::byte>(3 << 19), nullptr};  // 1.5 MiB
  try {
    rt.put(std::move(extra));
    FAIL("put exceeded the budget with objects that cannot be spilled");
  } catch (const weft::error& e) {
    std::string what = e.what();
    CHECK(what.find("unserializable") != std::string::npos);
    CHECK(what.find("cannot be spilled") != std::string::npos);
    CHECK(what.find("WEFT_ARENA_BYTES") != std::string::npos);
  }
  CHECK(extra.bytes.size() == 3u << 19);  // nothing was moved out of the refused value
  kept.pop_back();
  CHECK_NOTHROW(rt.put(std::move(extra)));
}

TEST_CASE("put after shutdown throws; objects stay readable after the runtime is gone") {
  weft::ref<std::string> kept;
  {
    weft::runtime rt(small_config());
    kept = rt.put(std::string("still here"));
    rt.shutdown();
    CHECK_THROWS_WITH_AS(rt.put(1), doctest::Contains("after shutdown"), weft::error);
  }
  CHECK(kept.get() == "still here");
}

TEST_CASE("a task returning a ref to an arena object yields that object, not a copy") {
  counted::reset();
  weft::runtime rt(small_config());
  auto obj = rt.put(counted(9));
  auto same = rt.submit([obj] { return obj; });
  CHECK(&same.get() == &obj.get());
  CHECK(counted::copies == 0);
}
