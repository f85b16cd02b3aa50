// weft/config.hpp: environment parsing and validation.
#include "weft/config.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "weft/errors.hpp"

namespace {
// Sets environment variables for one scope and restores them (unsets) at its end.
struct env_scope {
  explicit env_scope(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (auto& [k, v] : vars) {
      names.push_back(k);
      setenv(k, v, 1);
    }
  }
  ~env_scope() {
    for (auto* k : names)
      unsetenv(k);
  }
  std::vector<const char*> names;
};

std::string message_of(void (*fn)()) {
  try {
    fn();
  } catch (const weft::config_error& e) {
    return e.what();
  }
  return "no config_error";
}
}  // namespace

TEST_CASE("from_env keeps the defaults when nothing is set") {
  unsetenv("WEFT_THREADS");
  unsetenv("WEFT_RESOURCES");
  unsetenv("WEFT_NAMESPACE");
  weft::config cfg = weft::config::from_env();
  CHECK(cfg.threads == 0);
  CHECK(cfg.resources.empty());
  CHECK(cfg.namespace_ == "default");
}

TEST_CASE("from_env reads threads, resources and namespace") {
  env_scope env{
      {"WEFT_THREADS", "3"}, {"WEFT_RESOURCES", "gpu=2, mem_gb=16"}, {"WEFT_NAMESPACE", "prod"}};
  weft::config cfg = weft::config::from_env();
  CHECK(cfg.threads == 3);
  CHECK(cfg.resources.size() == 2);
  CHECK(cfg.resources.at("gpu") == 2);
  CHECK(cfg.resources.at("mem_gb") == 16);
  CHECK(cfg.namespace_ == "prod");
}

TEST_CASE("malformed WEFT_THREADS is rejected naming the variable and value") {
  for (const char* bad : {"abc", "-1", "2x", "", "99999999999"}) {
    env_scope env{{"WEFT_THREADS", bad}};
    std::string msg = message_of([] { (void)weft::config::from_env(); });
    CHECK(msg.find("WEFT_THREADS='" + std::string(bad) + "'") != std::string::npos);
  }
}

TEST_CASE("malformed WEFT_RESOURCES is rejected with the offending item") {
  struct {
    const char* value;
    const char* expected;
  } cases[] = {
      {"gpu", "item 'gpu' is not name=count"},
      {"gpu=two", "count 'two' of resource 'gpu' is not an integer"},
      {"gpu=0", "resource 'gpu' has capacity 0"},
      {"gpu=-2", "resource 'gpu' has capacity -2"},
      {"=3", "empty resource name"},
      {"gpu=1,gpu=2", "resource 'gpu' is listed twice"},
  };
  for (auto& c : cases) {
    env_scope env{{"WEFT_RESOURCES", c.value}};
    std::string msg = message_of([] { (void)weft::config::from_env(); });
    INFO("value: ", c.value, " message: ", msg);
    CHECK(msg.find("WEFT_RESOURCES='" + std::string(c.value) + "'") != std::string::npos);
    CHECK(msg.find(c.expected) != std::string::npos);
  }
}

TEST_CASE("an empty WEFT_NAMESPACE is rejected") {
  env_scope env{{"WEFT_NAMESPACE", ""}};
  CHECK(message_of([] { (void)weft::config::from_env(); }).find("WEFT_NAMESPACE") !=
        std::string::npos);
}

TEST_CASE("validate rejects zero or negative capacities set in code") {
  weft::config cfg;
  cfg.resources = {{"gpu", 0}};
  CHECK_THROWS_WITH_AS(cfg.validate(), "config.resources['gpu'] = 0: capacities must be positive",
                       weft::config_error);
  cfg.resources = {{"gpu", -1}};
  CHECK_THROWS_AS(cfg.validate(), weft::config_error);
  cfg.resources = {{"gpu", 1}};
  CHECK_NOTHROW(cfg.validate());
}
