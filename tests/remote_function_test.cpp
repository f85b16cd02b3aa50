// weft/remote.hpp: WEFT_REMOTE registration, which calls can travel, and the encoding of
// arguments and results that remote calls use.
#include "weft/remote.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "weft/errors.hpp"
#include "weft/ref.hpp"

namespace geometry {
struct point {
  double x = 0, y = 0;
};
struct labelled {
  std::string label;
  std::vector<int> values;
  template <class A>
  void serialize(A& a) {
    a(label, values);
  }
};
double norm2(point p) {
  return p.x * p.x + p.y * p.y;
}
}  // namespace geometry

int add(int a, int b) {
  return a + b;
}
std::string describe(const geometry::labelled& l, std::map<std::string, int> extra) {
  int total = 0;
  for (int v : l.values)
    total += v;
  return l.label + ":" + std::to_string(total) + ":" + std::to_string(extra.size());
}
void nothing() {}
int throws(int x) {
  throw std::out_of_range("x = " + std::to_string(x));
}
int also_add(int a, int b) {
  return a + b + 1000;
}
int takes_pointer(int* p) {
  return *p;
}
int takes_mutable(int& x) {
  return x;
}

WEFT_REMOTE(add);
WEFT_REMOTE(describe);
WEFT_REMOTE(geometry::norm2);
WEFT_REMOTE(nothing);
WEFT_REMOTE(throws);

namespace {

using weft::detail::any_function;
using weft::detail::find_remote_function;
using weft::detail::wire_value;

// The bytes of a wire_value, gathered.
std::vector<std::byte> flatten(const wire_value& v) {
  std::vector<std::byte> out;
  for (auto piece : v.pieces())
    out.insert(out.end(), piece.begin(), piece.end());
  CHECK(out.size() == v.size());
  return out;
}

// An encoded argument list, and the per-argument spans a receiver hands the invoker.
struct encoded_arguments {
  std::vector<std::byte> bytes;
  std::vector<std::span<const std::byte>> values;
  operator std::span<const std::span<const std::byte>>() const { return values; }
};

template <class... A>
encoded_arguments arguments(const A&... args) {
  wire_value v;
  (v.append_entry(args), ...);
  encoded_arguments out;
  out.bytes = flatten(v);
  for (const auto& e : weft::detail::split_entries(out.bytes))
    out.values.push_back(e.bytes);
  return out;
}

template <class R>
R call(const char* name, const encoded_arguments& args) {
  const auto* fn = find_remote_function(name);
  REQUIRE(fn != nullptr);
  auto result = fn->invoke(args, nullptr);
  return weft::detail::decode_bytes<R>(flatten(*result));
}

}  // namespace

TEST_CASE("registered functions are found by name and by address") {
  const auto* by_name = find_remote_function("add");
  REQUIRE(by_name != nullptr);
  CHECK(by_name->name == "add");
  CHECK(find_remote_function(reinterpret_cast<any_function>(&add)) == by_name);
  CHECK(find_remote_function("geometry::norm2") != nullptr);
  CHECK(find_remote_function("missing") == nullptr);
  CHECK(find_remote_function(reinterpret_cast<any_function>(&also_add)) == nullptr);
  auto names = weft::detail::remote_function_names();
  CHECK(names ==
        std::vector<std::string>{"add", "describe", "geometry::norm2", "nothing", "throws"});
}

TEST_CASE("a second function under a taken name is refused; the first stays") {
  weft::detail::register_remote<&also_add>("add");
  CHECK((find_remote_function("add")->address == reinterpret_cast<any_function>(&add)));
  CHECK(call<int>("add", arguments(2, 3)) == 5);
}

TEST_CASE("invokers decode arguments, call, and encode the result") {
  CHECK(call<int>("add", arguments(40, 2)) == 42);
  CHECK(call<double>("geometry::norm2", arguments(geometry::point{3, 4})) == 25.0);
  geometry::labelled l{"sum", {1, 2, 3}};
  std::map<std::string, int> extra{{"a", 1}, {"b", 2}};
  CHECK(call<std::string>("describe", arguments(l, extra)) == "sum:6:2");
  auto none = find_remote_function("nothing")->invoke(arguments(), nullptr);
  CHECK(none->size() == 0);
}

TEST_CASE("the function's exception propagates out of the invoker") {
  CHECK_THROWS_WITH_AS(find_remote_function("throws")->invoke(arguments(7), nullptr), "x = 7",
                       std::out_of_range);
}

TEST_CASE("malformed argument lists throw protocol_error, never read past the end") {
  using weft::detail::split_entries;
  auto good = arguments(1, 2);
  std::vector<std::byte> truncated(good.bytes.begin(), good.bytes.end() - 1);
  CHECK_THROWS_WITH_AS(split_entries(truncated), doctest::Contains("ends early"),
                       weft::protocol_error);
  auto huge = good.bytes;
  huge[8] = std::byte{0x7F};  // the first entry claims an enormous length
  CHECK_THROWS_WITH_AS(split_entries(huge), doctest::Contains("ends early"), weft::protocol_error);
  auto tagged = good.bytes;
  tagged[0] = std::byte{9};
  CHECK_THROWS_WITH_AS(split_entries(tagged), doctest::Contains("unknown tag 9"),
                       weft::protocol_error);
  // Wrong counts and wrong sizes per value.
  const auto* fn = find_remote_function("add");
  CHECK_THROWS_WITH_AS(fn->invoke(arguments(1), nullptr),
                       doctest::Contains("1 arguments arrived for a function of 2"),
                       weft::protocol_error);
  CHECK_THROWS_AS(fn->invoke(arguments(1, 2, 3), nullptr), weft::protocol_error);
  CHECK_THROWS_AS(fn->invoke(arguments(1, std::string("two")), nullptr), std::exception);
}

TEST_CASE("reference entries name an object on another node") {
  wire_value v;
  v.append_reference("worker-2", 77, 1 << 20, 9);
  auto bytes = flatten(v);
  auto entries = weft::detail::split_entries(bytes);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].tag == wire_value::entry_reference);
  auto r = weft::detail::parse_reference(entries[0].bytes);
  CHECK(r.owner == "worker-2");
  CHECK(r.id == 77);
  CHECK(r.size == 1u << 20);
  CHECK(r.key == 9);
  std::vector<std::byte> cut(entries[0].bytes.begin(), entries[0].bytes.end() - 1);
  CHECK_THROWS_AS(weft::detail::parse_reference(cut), weft::protocol_error);
}

TEST_CASE("large contiguous arguments are not copied into the encoding") {
  std::vector<double> big(1 << 16, 1.5);
  wire_value v;
  v.append_entry(big);
  REQUIRE(v.pieces().size() == 2);  // tag and length, then the vector's own memory
  CHECK(v.pieces()[1].data() == reinterpret_cast<const std::byte*>(big.data()));
  CHECK(v.size() == 9 + big.size() * sizeof(double));
}

TEST_CASE("which calls may travel") {
  using weft::detail::remotable_call;
  using int_fn = int (*)(int, int);
  static_assert(remotable_call<int_fn, int, int>());
  static_assert(remotable_call<int_fn, weft::ref<int>, int>());
  static_assert(remotable_call<int_fn, long, short>());  // converted to the parameter types
  static_assert(!remotable_call<int_fn, int>());         // wrong arity
  static_assert(!remotable_call<int_fn, weft::ref<void>, int>());
  using str_fn = std::string (*)(const geometry::labelled&, std::map<std::string, int>);
  static_assert(remotable_call<str_fn, geometry::labelled, std::map<std::string, int>>());
  static_assert(!remotable_call<decltype(&takes_pointer), int*>());
  static_assert(!remotable_call<decltype(&takes_mutable), int>());
  auto lambda = [](int x) { return x; };
  static_assert(!remotable_call<decltype(lambda), int>());
  static_assert(remotable_call<std::string (*)(const char*), const char*>() == false);
  CHECK(true);
}
