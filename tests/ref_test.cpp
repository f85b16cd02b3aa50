// weft/ref.hpp: reading values and errors, timeouts, then(), empty refs, rvalue get.
#include "weft/ref.hpp"

#include <doctest/doctest.h>

#include "support/flag.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "weft/runtime.hpp"

using namespace std::chrono_literals;

namespace {
struct custom_error : std::runtime_error {
  explicit custom_error(int c)
      : std::runtime_error("custom failure " + std::to_string(c)), code(c) {}
  int code;
};

// Counts copies and moves of itself.
struct counted {
  static inline std::atomic<int> copies{0};
  static inline std::atomic<int> moves{0};
  int value = 0;
  explicit counted(int v) : value(v) {}
  counted(const counted& o) : value(o.value) { ++copies; }
  counted(counted&& o) noexcept : value(o.value) { ++moves; }
  counted& operator=(const counted&) = delete;
};
}  // namespace

TEST_CASE("get returns the value; ready turns true") {
  weft::runtime rt;
  weft::ref<int> r = rt.submit([] { return 42; });
  CHECK(r.get() == 42);
  CHECK(r.ready());
  CHECK(r.valid());
}

TEST_CASE("get rethrows the task's exception with its original type and message") {
  weft::runtime rt;
  auto r = rt.submit([]() -> int { throw custom_error(7); });
  try {
    (void)r.get();
    FAIL("get did not throw");
  } catch (const custom_error& e) {
    CHECK(e.code == 7);
    CHECK(std::string(e.what()) == "custom failure 7");
  }
  CHECK_THROWS_AS(r.get(), custom_error);  // every read sees the same error
}

TEST_CASE("get_for times out with timeout_error, then succeeds once ready") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::atomic<bool> release{false};
  auto r = rt.submit([&] {
    weft_test::wait_for_flag(release);
    return 5;
  });
  CHECK_THROWS_AS(r.get_for(20ms), weft::timeout_error);
  CHECK_THROWS_AS(r.get_for(0ms), weft::timeout_error);  // zero polls
  release = true;
  CHECK(r.get_for(10s) == 5);
}

TEST_CASE("get_for with a negative duration is a clear error, not a timeout") {
  weft::runtime rt;
  auto r = rt.submit([] { return 1; });
  CHECK_THROWS_WITH_AS(r.get_for(-5ms),
                       doctest::Contains("ref::get_for: the timeout is negative (-5.000 ms)"),
                       weft::error);
}

TEST_CASE("operations on an empty ref throw weft::error naming the operation") {
  weft::ref<int> empty;
  CHECK_FALSE(empty.valid());
  CHECK_THROWS_WITH_AS(empty.get(), doctest::Contains("get() on an empty weft::ref"), weft::error);
  CHECK_THROWS_WITH_AS((void)empty.ready(), doctest::Contains("ready()"), weft::error);
  CHECK_THROWS_AS(empty.get_for(1ms), weft::error);
  weft::runtime rt;
  CHECK_THROWS_WITH_AS(rt.submit([](int x) { return x; }, empty),
                       doctest::Contains("argument 0 is an empty weft::ref"), weft::error);
}

TEST_CASE("make_ready_ref is ready at once and can feed tasks") {
  weft::runtime rt;
  auto in = weft::make_ready_ref(std::string("abc"));
  CHECK(in.ready());
  CHECK(rt.submit([](const std::string& s) { return s.size(); }, in).get() == 3);
  CHECK_THROWS_WITH_AS(in.then([](const std::string& s) { return s; }),
                       doctest::Contains("not produced by a runtime"), weft::error);
}

TEST_CASE("then chains on the producing runtime and propagates errors") {
  weft::runtime rt;
  auto r = rt.submit([] { return 3; }).then([](int x) { return x * 10; }).then([](int x) {
    return std::to_string(x);
  });
  CHECK(r.get() == "30");

  std::atomic<bool> ran{false};
  auto failed = rt.submit([]() -> int { throw custom_error(1); }).then([&](int x) {
    ran = true;
    return x;
  });
  CHECK_THROWS_AS(failed.get(), custom_error);
  CHECK_FALSE(ran.load());

  auto v = rt.submit([] {}).then([] { return 9; });
  CHECK(v.get() == 9);
}

TEST_CASE("get on an lvalue ref returns a reference to the one shared value") {
  weft::runtime rt;
  auto r = rt.submit([] { return counted(4); });
  const counted& a = r.get();
  const counted& b = r.get();
  CHECK(&a == &b);
  auto copy = r;
  CHECK(&copy.get() == &a);
}

TEST_CASE("get on a temporary ref returns the value, moved out when unshared") {
  weft::runtime rt;
  // Right after publishing, the scheduler may briefly still hold its reference (then the value
  // is copied); once it lets go, the temporary is the only holder and the value is moved.
  bool moved = false;
  for (int attempt = 0; attempt < 200 && !moved; ++attempt) {
    weft::ref<counted> tmp = rt.submit([] { return counted(8); });
    tmp.get();
    std::this_thread::sleep_for(1ms);
    counted::moves = 0;
    counted::copies = 0;
    counted v = std::move(tmp).get();
    CHECK(v.value == 8);
    moved = counted::copies.load() == 0 && counted::moves.load() >= 1;
  }
  CHECK(moved);

  auto shared = rt.submit([] { return counted(5); });
  shared.get();
  counted::copies = 0;
  auto other = shared;
  counted c = std::move(other).get();  // `shared` still refers to it: must copy
  CHECK(c.value == 5);
  CHECK(counted::copies.load() == 1);
  CHECK(shared.get().value == 5);
}

TEST_CASE("move-only results are readable by const reference") {
  weft::runtime rt;
  auto r = rt.submit([] { return std::make_unique<int>(11); });
  CHECK(*r.get() == 11);
  auto doubled = rt.submit([](const std::unique_ptr<int>& p) { return *p * 2; }, r);
  CHECK(doubled.get() == 22);
}

TEST_CASE("refs compare and hash by identity") {
  weft::runtime rt;
  auto a = rt.submit([] { return 1; });
  auto b = a;
  auto c = rt.submit([] { return 1; });
  CHECK(a == b);
  CHECK_FALSE(a == c);
  CHECK(std::hash<weft::ref<int>>{}(a) == std::hash<weft::ref<int>>{}(b));
}
