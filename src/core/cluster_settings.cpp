// weft::cluster_settings: parsing the cluster's WEFT_* variables and validating the fields.

#include "weft/cluster_settings.hpp"

#include <fmt/core.h>

#include <fcntl.h>
#include <openssl/rand.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <string_view>

#include "text.hpp"
#include "weft/config.hpp"
#include "weft/errors.hpp"

namespace weft {
namespace {

using detail::parse_int;
using detail::trim;

// A variable's value, or nullptr when unset.
const char* env(const char* name) noexcept {
  return std::getenv(name);
}

std::chrono::milliseconds parse_millis(const char* name, const char* text, long long minimum) {
  long long ms = 0;
  if (!parse_int(text, ms) || ms < minimum) {
    throw config_error(
        fmt::format("{}='{}' is not a duration in milliseconds (an integer of at "
                    "least {})",
                    name, text, minimum));
  }
  return std::chrono::milliseconds(ms);
}

node_role parse_role(const char* text) {
  std::string_view t = trim(text);
  if (t == "driver") return node_role::driver;
  if (t == "worker") return node_role::worker;
  if (t == "head") return node_role::head;
  if (t == "automatic" || t.empty()) return node_role::automatic;
  throw config_error(
      fmt::format("WEFT_ROLE='{}' is not a role (expected driver, worker or head)", text));
}

// The token in the first line of `path`; `origin` names where the path came from.
std::string read_token_file(const std::string& path, const std::string& origin) {
  std::ifstream in(path);
  if (!in) {
    throw config_error(fmt::format("{}='{}' cannot be opened for reading", origin, path));
  }
  std::string line;
  std::getline(in, line);
  std::string token(trim(line));
  if (token.empty()) {
    throw config_error(
        fmt::format("{}='{}': the first line is empty; write the token there", origin, path));
  }
  return token;
}

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

double token_bits(std::string_view token) noexcept {
  bool lower = false, upper = false, digit = false, other = false, hex = true;
  bool seen[256] = {};
  int distinct = 0;
  for (unsigned char c : token) {
    lower = lower || (c >= 'a' && c <= 'z');
    upper = upper || (c >= 'A' && c <= 'Z');
    digit = digit || (c >= '0' && c <= '9');
    other = other || !std::isalnum(c);
    hex = hex && std::isxdigit(c);
    if (!seen[c]) ++distinct;
    seen[c] = true;
  }
  double alphabet =
      hex ? 16 : (lower ? 26 : 0) + (upper ? 26 : 0) + (digit ? 10 : 0) + (other ? 32 : 0);
  alphabet = std::min(alphabet, 4.0 * distinct);
  if (alphabet < 2) return 0;
  return static_cast<double>(token.size()) * std::log2(alphabet);
}

std::string generate_token() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    throw error("cannot make a token: OpenSSL's random generator failed");
  std::string token;
  for (unsigned char b : bytes)
    token += fmt::format("{:02x}", b);
  return token;
}

const char* role_name(node_role role) noexcept {
  switch (role) {
    case node_role::driver:
      return "driver";
    case node_role::worker:
      return "worker";
    case node_role::head:
      return "head";
    case node_role::automatic:
      break;
  }
  return "automatic";
}

endpoint_text parse_endpoint(const std::string& text, const std::string& origin,
                             const std::string& default_host) {
  std::string_view t = trim(text);
  std::string host;
  std::string_view port_text;
  if (!t.empty() && t.front() == '[') {
    std::size_t close = t.find(']');
    if (close == std::string_view::npos || close + 1 >= t.size() || t[close + 1] != ':') {
      throw config_error(fmt::format("{}='{}' is not [ipv6]:port", origin, text));
    }
    host = std::string(t.substr(1, close - 1));
    port_text = t.substr(close + 2);
  } else {
    std::size_t colon = t.rfind(':');
    if (colon == std::string_view::npos || t.find(':') != colon) {
      throw config_error(
          fmt::format("{}='{}' is not host:port (e.g. 127.0.0.1:7070)", origin, text));
    }
    host = std::string(t.substr(0, colon));
    port_text = t.substr(colon + 1);
  }
  unsigned port = 0;
  if (!parse_int(port_text, port) || port > std::numeric_limits<std::uint16_t>::max()) {
    throw config_error(
        fmt::format("{}='{}': port '{}' is not a number from 0 to 65535", origin, text, port_text));
  }
  if (host.empty()) host = default_host;
  return {host, static_cast<std::uint16_t>(port)};
}

std::string default_token_path() {
  const char* home = env("HOME");
  std::string dir = home != nullptr ? home : "";
  if (dir.empty()) {
    if (const passwd* user = ::getpwuid(::getuid()); user != nullptr && user->pw_dir != nullptr)
      dir = user->pw_dir;
  }
  return dir.empty() ? std::string() : dir + "/.weft/token";
}

std::string ensure_default_token() {
  const std::string path = default_token_path();
  if (path.empty())
    throw config_error(
        "there is no home directory for the default token file; set WEFT_TOKEN_FILE");
  const std::string dir = path.substr(0, path.rfind('/'));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw config_error(
        fmt::format("cannot create '{}' for the default token: {}", dir, std::strerror(errno)));
  }
  // The token is written to a private temporary file first and linked into place, so the file
  // appears whole: a node started beside `weft start` never reads it empty. link() fails when the
  // file exists, so a token already there is never replaced.
  std::string staging = path + ".XXXXXX";
  const int fd = ::mkstemp(staging.data());
  if (fd < 0) {
    throw config_error(
        fmt::format("cannot create the default token file '{}': {}", path, std::strerror(errno)));
  }
  const std::string line = generate_token() + "\n";
  const bool written = ::fchmod(fd, 0600) == 0 &&
                       ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  const int linked = written ? ::link(staging.c_str(), path.c_str()) : -1;
  const int link_errno = errno;
  ::unlink(staging.c_str());
  if (!written) throw config_error(fmt::format("cannot write the default token file '{}'", path));
  if (linked != 0 && link_errno != EEXIST) {
    throw config_error(fmt::format("cannot create the default token file '{}': {}", path,
                                   std::strerror(link_errno)));
  }
  return path;
}

cluster_settings cluster_settings::with_default_token() const {
  cluster_settings s = *this;
  if (!s.token.empty() || s.no_token) return s;
  const std::string path = default_token_path();
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return s;
  if ((st.st_mode & 077) != 0) {
    throw config_error(fmt::format(
        "the default token file '{}' can be read by others than its owner (mode {:o}); run "
        "`chmod 600 {}`",
        path, st.st_mode & 0777, path));
  }
  s.token = read_token_file(path, "the default token file");
  return s;
}

cluster_settings cluster_settings::from_env() {
  cluster_settings s;
  if (const char* v = env("WEFT_ADDRESS")) s.address = std::string(trim(v));
  if (const char* v = env("WEFT_ROLE")) s.role = parse_role(v);
  if (const char* v = env("WEFT_LISTEN")) s.listen = std::string(trim(v));
  const char* token = env("WEFT_TOKEN");
  const char* token_file = env("WEFT_TOKEN_FILE");
  if (token && token_file) {
    throw config_error("WEFT_TOKEN and WEFT_TOKEN_FILE are both set; set only one");
  }
  if (token) s.token = token;
  if (token_file) s.token = read_token_file(token_file, "WEFT_TOKEN_FILE");
  if (const char* v = env("WEFT_NO_TOKEN")) {
    const std::string_view t = trim(v);
    if (t == "1" || t == "true")
      s.no_token = true;
    else if (t != "0" && t != "false" && !t.empty())
      throw config_error(fmt::format("WEFT_NO_TOKEN='{}' is not 1, true, 0 or false", v));
  }
  if (const char* v = env("WEFT_TLS_CERT")) s.tls_cert = std::string(trim(v));
  if (const char* v = env("WEFT_TLS_KEY")) s.tls_key = std::string(trim(v));
  if (const char* v = env("WEFT_TLS_CA")) s.tls_ca = std::string(trim(v));
  if (const char* v = env("WEFT_CLUSTER")) s.cluster_name = std::string(trim(v));
  if (const char* v = env("WEFT_HEARTBEAT_MS"))
    s.heartbeat_interval = parse_millis("WEFT_HEARTBEAT_MS", v, 1);
  if (const char* v = env("WEFT_HEARTBEAT_TIMEOUT_MS"))
    s.heartbeat_timeout = parse_millis("WEFT_HEARTBEAT_TIMEOUT_MS", v, 1);
  if (const char* v = env("WEFT_CONNECT_TIMEOUT_MS"))
    s.connect_timeout = parse_millis("WEFT_CONNECT_TIMEOUT_MS", v, 0);
  if (const char* v = env("WEFT_HEAD_RECONNECT_MS"))
    s.head_reconnect_timeout = parse_millis("WEFT_HEAD_RECONNECT_MS", v, 0);
  if (const char* v = env("WEFT_OFFLOAD_THRESHOLD")) {
    if (!parse_int(v, s.offload_threshold) || s.offload_threshold < -1) {
      throw config_error(fmt::format(
          "WEFT_OFFLOAD_THRESHOLD='{}' is not a queue length (an integer of at least 0, or -1 "
          "for the default)",
          v));
    }
  }
  if (const char* v = env("WEFT_MAX_FRAME_BYTES")) {
    std::uint64_t bytes = parse_bytes(v, "WEFT_MAX_FRAME_BYTES");
    if (bytes > std::numeric_limits<std::uint32_t>::max()) {
      throw config_error(
          fmt::format("WEFT_MAX_FRAME_BYTES='{}' is above the protocol's limit of 4 GiB - 1", v));
    }
    s.max_frame_bytes = static_cast<std::uint32_t>(bytes);
  }
  if (const char* v = env("WEFT_LINEAGE_BYTES"))
    s.lineage_bytes = parse_bytes(v, "WEFT_LINEAGE_BYTES");
  s.validate();
  return s;
}

void cluster_settings::validate() const {
  if (!enabled()) return;
  if (address.empty()) {
    throw config_error(fmt::format(
        "cluster role '{}' needs an address: set WEFT_ADDRESS (config.cluster.address) to the "
        "head's host:port",
        role_name(role)));
  }
  if (no_token && !token.empty()) {
    throw config_error(
        "WEFT_NO_TOKEN (config.cluster.no_token) is set and so is a token; set only one");
  }
  if (!token.empty() && token_bits(token) < min_token_bits) {
    // Never the token itself: error messages end up in logs.
    throw config_error(fmt::format(
        "the cluster token (WEFT_TOKEN, WEFT_TOKEN_FILE or config.cluster.token) is too weak to "
        "resist guessing: about {:.0f} bits of entropy, fewer than the {:.0f} needed. Make one "
        "with `weft token generate` (or `openssl rand -hex 32`)",
        token_bits(token), min_token_bits));
  }
  if (tls_cert.empty() != tls_key.empty() || tls_cert.empty() != tls_ca.empty()) {
    throw config_error(fmt::format(
        "TLS needs all three of WEFT_TLS_CERT, WEFT_TLS_KEY and WEFT_TLS_CA (config.cluster."
        "tls_cert, tls_key, tls_ca), and got cert='{}', key='{}', ca='{}'. Set all three (`weft "
        "tls init DIR` makes a set) or none",
        tls_cert, tls_key, tls_ca));
  }
  endpoint_text head = parse_endpoint(address, "WEFT_ADDRESS");
  if (role != node_role::head && head.port == 0) {
    throw config_error(fmt::format("WEFT_ADDRESS='{}' needs the head's port", address));
  }
  if (role == node_role::head && token.empty() && !is_loopback(head.host)) {
    throw config_error(fmt::format(
        "the head would listen on {} without a token: anyone who can reach it could run code "
        "here. Set WEFT_TOKEN or WEFT_TOKEN_FILE, or listen on 127.0.0.1",
        address));
  }
  if (!listen.empty()) {
    endpoint_text own = parse_endpoint(listen, "WEFT_LISTEN");
    if (token.empty() && !is_loopback(own.host)) {
      throw config_error(fmt::format(
          "WEFT_LISTEN='{}' is not a loopback address and there is no token; set WEFT_TOKEN or "
          "WEFT_TOKEN_FILE, or listen on 127.0.0.1",
          listen));
    }
  }
  if (cluster_name.empty()) throw config_error("config.cluster.cluster_name is empty");
  if (heartbeat_interval.count() <= 0) {
    throw config_error("config.cluster.heartbeat_interval must be positive");
  }
  if (heartbeat_timeout < 2 * heartbeat_interval) {
    throw config_error(fmt::format(
        "config.cluster.heartbeat_timeout ({} ms) must be at least twice the heartbeat interval "
        "({} ms), or healthy nodes would be declared dead",
        heartbeat_timeout.count(), heartbeat_interval.count()));
  }
  if (offload_threshold < -1) {
    throw config_error(
        fmt::format("config.cluster.offload_threshold = {}: use 0 or more, or -1 for the default",
                    offload_threshold));
  }
  if (max_frame_bytes < 4096) {
    throw config_error(fmt::format(
        "config.cluster.max_frame_bytes = {} is below the minimum of 4096", max_frame_bytes));
  }
}

}  // namespace weft
