// weft/cluster_settings.hpp: WEFT_* cluster variables, endpoints and validation.
#include "weft/cluster_settings.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "support/env_scope.hpp"
#include "weft/config.hpp"
#include "weft/errors.hpp"

namespace {

using weft_test::env_scope;

template <class F>
std::string config_error_of(F&& fn) {
  try {
    fn();
  } catch (const weft::config_error& e) {
    return e.what();
  }
  return "no config_error";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("without cluster variables the runtime stays in-process") {
  weft::cluster_settings s = weft::cluster_settings::from_env();
  CHECK_FALSE(s.enabled());
  CHECK(s.address.empty());
  CHECK(s.role == weft::node_role::automatic);
  CHECK(weft::config::from_env().cluster.enabled() == false);
}

TEST_CASE("from_env reads the cluster variables") {
  env_scope env{{"WEFT_ADDRESS", "127.0.0.1:7070"},
                {"WEFT_ROLE", "worker"},
                {"WEFT_TOKEN", "3f0c9a8b1d2e4f6071a2b3c4d5e6f708"},
                {"WEFT_CLUSTER", "lab"},
                {"WEFT_HEARTBEAT_MS", "200"},
                {"WEFT_HEARTBEAT_TIMEOUT_MS", "900"},
                {"WEFT_OFFLOAD_THRESHOLD", "0"},
                {"WEFT_MAX_FRAME_BYTES", "1M"},
                {"WEFT_LINEAGE_BYTES", "16M"},
                {"WEFT_HEAD_RECONNECT_MS", "2500"}};
  weft::cluster_settings s = weft::cluster_settings::from_env();
  CHECK(s.enabled());
  CHECK(s.address == "127.0.0.1:7070");
  CHECK(s.role == weft::node_role::worker);
  CHECK(s.token == "3f0c9a8b1d2e4f6071a2b3c4d5e6f708");
  CHECK(s.cluster_name == "lab");
  CHECK(s.heartbeat_interval.count() == 200);
  CHECK(s.heartbeat_timeout.count() == 900);
  CHECK(s.offload_threshold == 0);
  CHECK(s.max_frame_bytes == 1u << 20);
  CHECK(s.lineage_bytes == 16u << 20);
  CHECK(weft::cluster_settings{}.lineage_bytes == 256u << 20);
  CHECK(s.head_reconnect_timeout.count() == 2500);
  CHECK(weft::cluster_settings{}.head_reconnect_timeout.count() == 60000);
}

TEST_CASE("WEFT_TOKEN_FILE supplies the token from its first line") {
  char path[] = "/tmp/weft-token-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  const std::string content = "  file-token  \nignored\n";
  REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
  close(fd);
  {
    env_scope env{{"WEFT_TOKEN_FILE", path}};
    CHECK(weft::cluster_settings::from_env().token == "file-token");
  }
  {
    env_scope env{{"WEFT_TOKEN_FILE", path}, {"WEFT_TOKEN", "both"}};
    CHECK(contains(config_error_of([] { weft::cluster_settings::from_env(); }),
                   "WEFT_TOKEN and WEFT_TOKEN_FILE are both set"));
  }
  std::remove(path);
  env_scope env{{"WEFT_TOKEN_FILE", "/nonexistent/weft-token"}};
  CHECK(contains(config_error_of([] { weft::cluster_settings::from_env(); }),
                 "WEFT_TOKEN_FILE='/nonexistent/weft-token' cannot be opened"));
}

TEST_CASE("malformed cluster variables are refused naming the variable") {
  struct {
    const char* name;
    const char* value;
    const char* expected;
  } cases[] = {
      {"WEFT_ROLE", "boss", "WEFT_ROLE='boss' is not a role"},
      {"WEFT_ADDRESS", "localhost", "WEFT_ADDRESS='localhost' is not host:port"},
      {"WEFT_ADDRESS", "127.0.0.1:99999", "port '99999' is not a number from 0 to 65535"},
      {"WEFT_ADDRESS", "127.0.0.1:0", "needs the head's port"},
      {"WEFT_HEARTBEAT_MS", "soon", "WEFT_HEARTBEAT_MS='soon' is not a duration"},
      {"WEFT_OFFLOAD_THRESHOLD", "-5", "WEFT_OFFLOAD_THRESHOLD='-5' is not a queue length"},
      {"WEFT_MAX_FRAME_BYTES", "8G", "above the protocol's limit"},
      {"WEFT_LINEAGE_BYTES", "lots", "WEFT_LINEAGE_BYTES='lots'"},
      {"WEFT_HEAD_RECONNECT_MS", "-1", "WEFT_HEAD_RECONNECT_MS='-1'"},
  };
  for (const auto& c : cases) {
    INFO(c.name << "=" << c.value);
    env_scope env{{c.name, c.value}};
    CHECK(contains(config_error_of([] { weft::cluster_settings::from_env(); }), c.expected));
  }
}

TEST_CASE("validation: roles need an address, open addresses need a token") {
  weft::cluster_settings s;
  s.role = weft::node_role::worker;
  CHECK(contains(config_error_of([&] { s.validate(); }), "cluster role 'worker' needs an address"));

  s.role = weft::node_role::head;
  s.address = "0.0.0.0:7070";
  CHECK(contains(config_error_of([&] { s.validate(); }), "without a token"));
  s.token = weft::generate_token();
  CHECK_NOTHROW(s.validate());

  weft::cluster_settings w;
  w.address = "127.0.0.1:7070";
  w.listen = "10.1.2.3:0";
  CHECK(contains(config_error_of([&] { w.validate(); }),
                 "WEFT_LISTEN='10.1.2.3:0' is not a loopback"));

  weft::cluster_settings h;
  h.address = "127.0.0.1:7070";
  h.heartbeat_interval = std::chrono::milliseconds(500);
  h.heartbeat_timeout = std::chrono::milliseconds(600);
  CHECK(contains(config_error_of([&] { h.validate(); }), "at least twice the heartbeat interval"));
}

TEST_CASE("parse_endpoint reads host:port and [ipv6]:port") {
  auto a = weft::parse_endpoint("10.0.0.5:7070", "x");
  CHECK(a.host == "10.0.0.5");
  CHECK(a.port == 7070);
  auto b = weft::parse_endpoint("[::1]:80", "x");
  CHECK(b.host == "::1");
  CHECK(b.port == 80);
  auto c = weft::parse_endpoint(":9000", "x");
  CHECK(c.host == "127.0.0.1");
  CHECK(c.port == 9000);
  CHECK(contains(config_error_of([] { weft::parse_endpoint("::1:80", "here"); }),
                 "here='::1:80' is not host:port"));
}

TEST_CASE("role names") {
  CHECK(std::string(weft::role_name(weft::node_role::head)) == "head");
  CHECK(std::string(weft::role_name(weft::node_role::worker)) == "worker");
  CHECK(std::string(weft::role_name(weft::node_role::driver)) == "driver");
  CHECK(std::string(weft::role_name(weft::node_role::automatic)) == "automatic");
}

TEST_CASE("a weak token is refused, saying how to make one, and never shown") {
  CHECK(weft::token_bits("") == 0);
  CHECK(weft::token_bits("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") < 128);  // one character
  CHECK(weft::token_bits("right-token") < 128);
  CHECK(weft::token_bits("3f0c9a8b1d2e4f6071a2b3c4d5e6f708") == doctest::Approx(128));
  const std::string generated = weft::generate_token();
  CHECK(generated.size() == 64);
  CHECK(generated.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(weft::token_bits(generated) >= 200);  // 256 for 16 distinct digits
  CHECK(weft::generate_token() != generated);

  weft::cluster_settings s;
  s.address = "127.0.0.1:7070";
  s.token = "hunter2-hunter2";
  const std::string message = config_error_of([&] { s.validate(); });
  CHECK(contains(message,
                 "the cluster token (WEFT_TOKEN, WEFT_TOKEN_FILE or "
                 "config.cluster.token) is too weak to resist guessing: about "));
  CHECK(contains(message, "fewer than the 128 needed. Make one with `weft token generate`"));
  CHECK_FALSE(contains(message, "hunter2"));
}

TEST_CASE("the default token file: made once with mode 0600, read when no token is given") {
  // HOME is this test binary's own directory (test_main.cpp).
  const std::string path = weft::default_token_path();
  REQUIRE(contains(path, "weft-test-home-"));
  CHECK(weft::ensure_default_token() == path);
  std::FILE* f = std::fopen(path.c_str(), "r");
  REQUIRE(f != nullptr);
  char line[128] = {};
  REQUIRE(std::fgets(line, sizeof line, f) != nullptr);
  std::fclose(f);
  const std::string token = std::string(line).substr(0, 64);
  CHECK(weft::token_bits(token) >= weft::min_token_bits);
  CHECK(weft::ensure_default_token() == path);  // kept, not made again

  weft::cluster_settings s;
  s.role = weft::node_role::worker;
  s.address = "127.0.0.1:7070";
  CHECK(s.with_default_token().token == token);
  s.token = weft::generate_token();
  CHECK(s.with_default_token().token == s.token);  // a given token wins
  s.token.clear();
  s.no_token = true;
  CHECK(s.with_default_token().token.empty());  // the explicit opt-out

  ::chmod(path.c_str(), 0644);
  s.no_token = false;
  const std::string readable = config_error_of([&] { (void)s.with_default_token(); });
  CHECK(contains(readable, "can be read by others than its owner (mode 644)"));
  CHECK(contains(readable, "chmod 600"));
  CHECK_FALSE(contains(readable, token));
  std::remove(path.c_str());
  CHECK(s.with_default_token().token.empty());
}

TEST_CASE("WEFT_NO_TOKEN opts out, and cannot be set beside a token") {
  {
    env_scope env({{"WEFT_ADDRESS", "127.0.0.1:7070"}, {"WEFT_NO_TOKEN", "1"}});
    CHECK(weft::cluster_settings::from_env().no_token);
  }
  {
    env_scope env({{"WEFT_ADDRESS", "127.0.0.1:7070"},
                   {"WEFT_NO_TOKEN", "1"},
                   {"WEFT_TOKEN", "0123456789abcdef0123456789abcdef"}});
    CHECK(contains(config_error_of([] { (void)weft::cluster_settings::from_env(); }),
                   "set only one"));
  }
  {
    env_scope env({{"WEFT_ADDRESS", "127.0.0.1:7070"}, {"WEFT_NO_TOKEN", "maybe"}});
    CHECK(contains(config_error_of([] { (void)weft::cluster_settings::from_env(); }),
                   "WEFT_NO_TOKEN='maybe'"));
  }
}

TEST_CASE("the default token file appears whole: a reader never sees it empty or partial") {
  // A worker started beside `weft start` may read the file the moment it exists; the file must
  // appear with its token already in it, never empty between its creation and its write.
  const std::string path = weft::default_token_path();
  REQUIRE(contains(path, "weft-test-home-"));
  int partial = 0;
  for (int round = 0; round < 300; ++round) {
    std::remove(path.c_str());
    std::atomic<bool> go{false};
    std::string seen;
    std::thread reader([&] {
      go = true;
      for (;;) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        char buf[128];
        const ssize_t n = ::read(fd, buf, sizeof buf);
        ::close(fd);
        seen.assign(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
        return;
      }
    });
    while (!go)
      std::this_thread::yield();
    weft::ensure_default_token();
    reader.join();
    if (seen.empty() || seen.back() != '\n') ++partial;
  }
  CHECK(partial == 0);
  std::remove(path.c_str());
}
