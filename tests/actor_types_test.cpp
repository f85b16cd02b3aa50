// WEFT_ACTOR registration: method names and member pointers, the owner-side invocation of a
// method from encoded arguments (in-process, on a real actor), factories, and which method
// calls may travel.
#include <doctest/doctest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "weft/remote.hpp"
#include "weft/runtime.hpp"

namespace bank {
class account {
 public:
  account() = default;
  explicit account(int opening) : balance_(opening) {}
  int deposit(int amount) {
    if (amount <= 0) throw std::invalid_argument("deposit must be positive");
    balance_ += amount;
    return balance_;
  }
  int balance() const { return balance_; }
  std::vector<int> history(const std::string& filter) const {
    return filter == "all" ? std::vector<int>{balance_} : std::vector<int>{};
  }
  int unlisted() const { return -1; }

 private:
  int balance_ = 0;
};
}  // namespace bank

// Another type claiming a registered name: refused, the first registration stays.
struct impostor {
  int deposit(int x) { return x; }
};

WEFT_ACTOR(bank::account, &bank::account::deposit, &bank::account::balance,
           &bank::account::history);
[[maybe_unused]] static const bool impostor_registered =
    weft::detail::register_actor<impostor, &impostor::deposit>("bank::account",
                                                               "&impostor::deposit");

namespace {

using weft::detail::actor_method;
using weft::detail::find_actor_type;

// The encoded argument list of `values`, as it would arrive from another node.
template <class... A>
std::shared_ptr<weft::detail::arrived_arguments> arrived(const A&... values) {
  auto encoded = std::make_shared<weft::detail::wire_value>();
  (encoded->append_entry(values), ...);
  std::string flat;
  for (auto piece : encoded->pieces())
    flat.append(reinterpret_cast<const char*>(piece.data()), piece.size());
  auto bytes = std::make_shared<std::string>(std::move(flat));
  auto out = std::make_shared<weft::detail::arrived_arguments>();
  for (const auto& e : weft::detail::split_entries(std::as_bytes(std::span(*bytes))))
    out->values.push_back(e.bytes);
  out->keep.push_back(bytes);
  return out;
}

template <class R>
R decoded(const weft::ref<std::shared_ptr<weft::detail::wire_value>>& result) {
  std::string flat;
  for (auto piece : result.get()->pieces())
    flat.append(reinterpret_cast<const char*>(piece.data()), piece.size());
  return weft::detail::decode_bytes<R>(std::as_bytes(std::span(flat)));
}

}  // namespace

TEST_CASE("WEFT_ACTOR names the type and its methods, found by member pointer and by name") {
  const auto* type = find_actor_type(typeid(bank::account));
  REQUIRE(type != nullptr);
  CHECK(type->name == "bank::account");
  CHECK(find_actor_type("bank::account") == type);
  CHECK(find_actor_type(typeid(impostor)) == nullptr);  // its registration was refused
  REQUIRE(type->methods.size() == 3);
  CHECK(type->methods[0].function.name == "bank::account::deposit");
  CHECK(type->methods[1].function.name == "bank::account::balance");
  CHECK(type->methods[2].function.name == "bank::account::history");
  CHECK(weft::detail::find_method_of<bank::account>(&bank::account::balance) == &type->methods[1]);
  CHECK(weft::detail::find_method_of<bank::account>(&bank::account::unlisted) == nullptr);
  CHECK(weft::detail::find_actor_method(*type, "bank::account::history") == &type->methods[2]);
  CHECK(weft::detail::find_actor_method(*type, "bank::account::withdraw") == nullptr);
  CHECK(weft::detail::actor_type_names() == std::vector<std::string>{"bank::account"});
}

TEST_CASE("a method runs on a local actor from encoded arguments, in order with other calls") {
  weft::runtime rt;
  auto acct = rt.spawn<bank::account>(10);
  auto* cell = weft::detail::actor_access::cell_of(acct);
  const auto* type = find_actor_type(typeid(bank::account));
  weft::task_options options;
  const actor_method& deposit = type->methods[0];
  auto first = deposit.invoke(*cell, arrived(5), nullptr, options);
  auto local = acct.call(&bank::account::deposit, 1);
  auto second = deposit.invoke(*cell, arrived(4), nullptr, options);
  CHECK(decoded<int>(first) == 15);
  CHECK(local.get() == 16);
  CHECK(decoded<int>(second) == 20);
  auto history = type->methods[2].invoke(*cell, arrived(std::string("all")), nullptr, options);
  CHECK(decoded<std::vector<int>>(history) == std::vector<int>{20});
  // The method's exception fails only that call; malformed arguments fail it too.
  auto refused = deposit.invoke(*cell, arrived(-1), nullptr, options);
  CHECK_THROWS_WITH_AS(refused.get(), "deposit must be positive", std::invalid_argument);
  auto malformed = deposit.invoke(*cell, arrived(std::string("x"), 2), nullptr, options);
  CHECK_THROWS_WITH(malformed.get(), doctest::Contains("not a whole number of 4-byte elements"));
  CHECK(acct.call(&bank::account::balance).get() == 20);
}

TEST_CASE("spawn sites register factories other nodes build the actor with") {
  using weft::detail::factory_key;
  using weft::detail::find_actor_factory;
  CHECK(static_cast<bool>(find_actor_factory(factory_key<bank::account>())));       // WEFT_ACTOR
  CHECK(static_cast<bool>(find_actor_factory(factory_key<bank::account, int>())));  // spawn(10)
  CHECK((find_actor_factory(factory_key<bank::account, double>()) == nullptr));
}

TEST_CASE("which method calls may travel") {
  using weft::detail::instance_arg;
  using weft::detail::remotable_call;
  using deposit_t = decltype(&bank::account::deposit);
  using history_t = decltype(&bank::account::history);
  static_assert(remotable_call<deposit_t, instance_arg<bank::account>, int>());
  static_assert(remotable_call<deposit_t, instance_arg<bank::account>, weft::ref<int>>());
  static_assert(remotable_call<history_t, instance_arg<bank::account>, std::string>());
  static_assert(!remotable_call<deposit_t, int>());  // no instance: not an actor call
  static_assert(!remotable_call<deposit_t, instance_arg<bank::account>>());  // arity
  auto lambda = [](bank::account& a) { return a.balance(); };
  static_assert(!remotable_call<decltype(lambda), instance_arg<bank::account>>());
  CHECK(true);
}
