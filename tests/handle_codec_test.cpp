// weft/detail/handle_codec.hpp: refs and actor handles inside values (containers of refs, of
// actor handles) as arguments and actor state, in-process; which such types may travel and
// which may be spilled.
#include "weft/detail/handle_codec.hpp"
#include "weft/detail/registration.hpp"

#include <doctest/doctest.h>

#include <deque>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "weft/runtime.hpp"

namespace {

struct geo {
  int id;
  explicit geo(int i) : id(i) {}
  int area() const { return id * 10; }
};

// Holds handles to other actors and fans a call out to them.
class distributor {
 public:
  explicit distributor(std::vector<weft::actor<geo>> geos) : geos_(std::move(geos)) {}
  int total_area() const {
    int sum = 0;
    for (const auto& g : geos_)
      sum += g.call(&geo::area).get();
    return sum;
  }
  std::size_t size() const { return geos_.size(); }

 private:
  std::vector<weft::actor<geo>> geos_;
};

int sum_of(const std::vector<weft::ref<int>>& refs) {
  int total = 0;
  for (const auto& r : refs)
    total += r.get();
  return total;
}

int area_of(const weft::actor<geo>& g) {
  return g.call(&geo::area).get();
}

int count_named(const std::map<std::string, weft::ref<int>>& named) {
  int total = 0;
  for (const auto& [name, r] : named)
    total += static_cast<int>(name.size()) * r.get();
  return total;
}

using namespace weft::detail;

// What may travel, what may be spilled.
static_assert(contains_handles_v<std::vector<weft::ref<int>>>);
static_assert(contains_handles_v<std::map<std::string, std::pair<int, weft::actor<geo>>>>);
static_assert(!contains_handles_v<std::vector<std::map<int, std::string>>>);
static_assert(wire_type_v<std::vector<weft::ref<int>>>);
static_assert(wire_type_v<std::vector<weft::actor<geo>>>);
static_assert(wire_type_v<weft::actor<geo>>);
static_assert(wire_type_v<std::tuple<int, std::optional<weft::ref<std::string>>>>);
// A container of something cereal cannot write is not encodable, whatever cereal's own
// (shallow) trait for the container says.
struct opaque {
  int x = 0;
  opaque* self = nullptr;
  opaque() = default;
  opaque(const opaque&) = default;
  ~opaque() {}
};
static_assert(is_cereal_v<std::vector<opaque>>);
static_assert(!encodable_v<std::vector<opaque>>);
static_assert(!encodable_param_v<std::vector<opaque>>);
// Results holding handles cannot travel back (such a task runs where it was submitted).
static_assert(!wire_result_v<std::vector<weft::ref<int>>>);
static_assert(wire_result_v<std::vector<int>>);

}  // namespace

TEST_CASE("values holding handles are never spilled; other types are once they have a codec") {
  CHECK_FALSE(spillable_now<std::vector<weft::ref<int>>>());
  CHECK_FALSE(spillable_now<std::vector<weft::actor<geo>>>());
  CHECK(spillable_now<std::vector<int>>());  // direct: no codec needed
  // Nothing in this program registers a codec for a deque of strings, until it does.
  CHECK_FALSE(spillable_now<std::deque<std::string>>());
  register_codec<std::deque<std::string>>();
  CHECK(spillable_now<std::deque<std::string>>());
}

TEST_CASE("a vector of refs is an argument like any other value, in-process") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::vector<weft::ref<int>> refs;
  for (int i = 1; i <= 10; ++i)
    refs.push_back(rt.submit([i] { return i; }));
  // The vector is passed as a value (not a dependency): the task gets the refs and reads them.
  CHECK(rt.submit(sum_of, refs).get() == 55);
  std::map<std::string, weft::ref<int>> named{{"a", rt.submit([] { return 2; })},
                                              {"bcd", rt.submit([] { return 3; })}};
  CHECK(rt.submit(count_named, named).get() == 1 * 2 + 3 * 3);
}

TEST_CASE("actors holding handles to other actors, and actor handles as task arguments") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::vector<weft::actor<geo>> geos;
  for (int i = 1; i <= 4; ++i)
    geos.push_back(rt.spawn<geo>(i));
  auto d = rt.spawn<distributor>(geos);
  geos.clear();  // the distributor's copies keep the actors alive
  CHECK(d.call(&distributor::size).get() == 4);
  CHECK(d.call(&distributor::total_area).get() == 100);
  auto g = rt.spawn<geo>(7);
  CHECK(rt.submit(area_of, g).get() == 70);
}

TEST_CASE("a put object holding refs stays in memory (it cannot be spilled)") {
  weft::runtime rt{weft::config{.threads = 2}};
  std::vector<weft::ref<int>> refs{rt.submit([] { return 4; }), rt.submit([] { return 5; })};
  auto held = rt.put(refs);
  CHECK(rt.submit(sum_of, held).get() == 9);
  CHECK(rt.arena_stats().bytes_pinned > 0);
}
