// weft/config.hpp: environment parsing and validation.
#include "weft/config.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "support/env_scope.hpp"
#include "weft/errors.hpp"

namespace {
using weft_test::env_scope;

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

TEST_CASE("parse_bytes reads integers with binary units") {
  CHECK(weft::parse_bytes("1024", "x") == 1024);
  CHECK(weft::parse_bytes("512M", "x") == 512ull << 20);
  CHECK(weft::parse_bytes("4G", "x") == 4ull << 30);
  CHECK(weft::parse_bytes("4gib", "x") == 4ull << 30);
  CHECK(weft::parse_bytes(" 64 KiB ", "x") == 64ull << 10);
  CHECK(weft::parse_bytes("2TB", "x") == 2ull << 40);
  CHECK(weft::parse_bytes("7b", "x") == 7);
}

TEST_CASE("parse_bytes rejects malformed, zero and overflowing sizes naming the origin") {
  for (const char* bad : {"", "M", "-1G", "1.5G", "12Q", "4 G B", "0", "0M", "99999999999T"}) {
    CAPTURE(bad);
    try {
      weft::parse_bytes(bad, "WEFT_ARENA_BYTES");
      FAIL("accepted");
    } catch (const weft::config_error& e) {
      std::string what = e.what();
      CHECK(what.find("WEFT_ARENA_BYTES='" + std::string(bad) + "'") != std::string::npos);
    }
  }
}

TEST_CASE("from_env reads WEFT_ARENA_BYTES and WEFT_SPILL_DIR") {
  env_scope env{{"WEFT_ARENA_BYTES", "64M"}, {"WEFT_SPILL_DIR", "/var/tmp/weft"}};
  weft::config cfg = weft::config::from_env();
  CHECK(cfg.arena_bytes == 64ull << 20);
  CHECK(cfg.spill_dir == "/var/tmp/weft");
}

TEST_CASE("a malformed WEFT_ARENA_BYTES or an empty WEFT_SPILL_DIR is rejected") {
  {
    env_scope env{{"WEFT_ARENA_BYTES", "lots"}};
    CHECK(message_of([] { weft::config::from_env(); }).find("WEFT_ARENA_BYTES='lots'") !=
          std::string::npos);
  }
  {
    env_scope env{{"WEFT_SPILL_DIR", " "}};
    CHECK(message_of([] { weft::config::from_env(); }).find("WEFT_SPILL_DIR") != std::string::npos);
  }
}

TEST_CASE("from_env reads WEFT_RETAINED_BYTES: a size, 0 for none, unset for the pool's own") {
  {
    env_scope env{{"WEFT_RETAINED_BYTES", "2G"}};
    CHECK(weft::config::from_env().retained_bytes == std::optional<std::uint64_t>(2ull << 30));
  }
  {
    env_scope env{{"WEFT_RETAINED_BYTES", " 0 "}};
    CHECK(weft::config::from_env().retained_bytes == std::optional<std::uint64_t>(0));
  }
  unsetenv("WEFT_RETAINED_BYTES");
  CHECK_FALSE(weft::config::from_env().retained_bytes.has_value());
  env_scope env{{"WEFT_RETAINED_BYTES", "much"}};
  CHECK(message_of([] { weft::config::from_env(); }).find("WEFT_RETAINED_BYTES='much'") !=
        std::string::npos);
}
