// Multi-process cluster tests: a head, workers and drivers started as separate processes of
// cluster_node on 127.0.0.1, with bounded waits; every process is killed at the end of its
// test case, even when a check fails.

#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "local_cluster.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
#include "weft/cluster.hpp"
#include "weft/errors.hpp"
#include "weft/tls_files.hpp"
#include "wire/frame.hpp"
#include "wire/handshake.hpp"
#include "wire/messages.hpp"

using namespace std::chrono_literals;
using weft_test::child_process;
using weft_test::contains;
using weft_test::free_port;
using weft_test::local_cluster;
using weft_test::value_of;

namespace {

const std::string node_binary = WEFT_CLUSTER_NODE;
const std::string cli_binary = WEFT_CLI;

// Runs cluster_node's "tasks" driver (every registered task sent away) and returns what it
// printed, checked to have ended well with its tasks run on worker-1.
std::string run_tasks_driver(local_cluster& cluster) {
  child_process& driver = cluster.start("driver", {{"WEFT_OFFLOAD_THRESHOLD", "0"}}, {"tasks"});
  const auto status = driver.wait_for(60s);
  const std::string out = driver.output();
  INFO(out);
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK(contains(out, "ran_on=worker-1"));
  CHECK(contains(out, "sum=10000100000"));
  CHECK(contains(out, "failures=0"));
  return out;
}

}  // namespace

TEST_CASE("tasks run on every worker, chains cross nodes, remote errors arrive as task_error") {
  local_cluster cluster(node_binary);
  cluster.add_worker("worker-1", {}, 2);
  cluster.add_worker("worker-2", {}, 3);
  const std::string out = run_tasks_driver(cluster);
  INFO(out);
  CHECK(contains(out, "node=driver-1"));
  CHECK(contains(out, "ran_on=worker-2"));
  CHECK(contains(out, "chain=5050"));
  CHECK(contains(out, "error_type=std::invalid_argument"));
  CHECK(contains(out, "error_message=no such thing"));
  CHECK(contains(out, "error_node=worker-"));
  CHECK(contains(out, "dependent_error=first"));
}

TEST_CASE("weft status lists every node and its functions; weft stop ends every process") {
  local_cluster cluster(node_binary);
  child_process& w1 = cluster.add_worker("worker-1", {{"WEFT_RESOURCES", "gpu=2"}}, 2);
  child_process& w2 = cluster.add_worker("worker-2", {}, 3);
  auto [status_rc, listing] =
      cluster.run_cli(cli_binary, {"status", "--address", cluster.address()}, "status");
  INFO(listing);
  CHECK(status_rc == 0);
  CHECK(contains(listing, "cluster 'weft': 3 node(s)"));
  CHECK(contains(listing, "head "));
  CHECK(contains(listing, "worker-1"));
  CHECK(contains(listing, "worker-2"));
  CHECK(contains(listing, "gpu=2"));
  CHECK(contains(listing,
                 "add,arena_here,checksum,fail_with,host_of,make_block,scale,sleep_ms,"
                 "sum,where,actor:ledger"));

  auto [stop_rc, stopped] =
      cluster.run_cli(cli_binary, {"stop", "--address", cluster.address()}, "stop");
  CHECK(stop_rc == 0);
  CHECK(contains(stopped, "stopped"));
  for (child_process* p : {&cluster.head(), &w1, &w2}) {
    auto rc = p->wait_for(15s);
    INFO(p->output());
    REQUIRE(rc.has_value());
    CHECK(*rc == 0);
  }
  CHECK(contains(w1.output(), "stopped serving: the head stopped the cluster"));
}

TEST_CASE("a node with the wrong token is refused and logged; the head keeps serving") {
  local_cluster cluster(node_binary, std::map<std::string, std::string>{
                                         {"WEFT_TOKEN", "0123456789abcdef0123456789abcdef"}});
  cluster.add_worker("worker-1", {}, 2);
  child_process& intruder = cluster.start("intruder",
                                          {{"WEFT_ROLE", "worker"},
                                           {"WEFT_TOKEN", "fedcba9876543210fedcba9876543210"},
                                           {"WEFT_CONNECT_TIMEOUT_MS", "2000"}},
                                          {});
  auto rc = intruder.wait_for(20s);
  INFO(intruder.output());
  REQUIRE(rc.has_value());
  CHECK(*rc != 0);
  CHECK(contains(intruder.output(), "token"));
  CHECK(cluster.head().wait_for_output(
      "wrong token: the peer's proof does not match the cluster token", 5s));
  CHECK(cluster.wait_for_nodes(2).nodes.size() == 2);

  weft::cluster_settings wrong = cluster.settings();
  wrong.token = "guess";
  CHECK_THROWS_AS(weft::query_cluster(wrong, 2s), weft::auth_error);
  weft::cluster_settings other = cluster.settings();
  other.cluster_name = "another";
  CHECK_THROWS_AS(weft::query_cluster(other, 2s), weft::auth_error);
}

TEST_CASE("weft start makes a token by default; local nodes read it; weft stop needs it") {
  weft_test::temp_dir home("weft-home");
  weft_test::temp_dir stranger_home("weft-stranger-home");
  weft_test::temp_dir logs("weft-default-token");
  const int port = free_port();
  const std::string address = "127.0.0.1:" + std::to_string(port);
  const std::map<std::string, std::string> local = {{"HOME", home.path.string()}};
  child_process head(cli_binary, {"start", "--head", "--port", std::to_string(port)}, local,
                     (logs.path / "head.log").string());
  const std::filesystem::path token_file = home.path / ".weft" / "token";
  for (int i = 0; i < 100 && !std::filesystem::exists(token_file); ++i)
    std::this_thread::sleep_for(100ms);
  REQUIRE(std::filesystem::exists(token_file));
  struct stat st {};
  REQUIRE(::stat(token_file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(token_file.parent_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  const std::string token = child_process::read_file(token_file.string());
  CHECK(weft::token_bits(token.substr(0, token.find('\n'))) >= weft::min_token_bits);
  CHECK(head.wait_for_output("the cluster's token is in", 10s));
  // The token is never printed.
  CHECK_FALSE(contains(head.output(), token.substr(0, 16)));

  child_process worker(node_binary, {},
                       {{"HOME", home.path.string()},
                        {"WEFT_ROLE", "worker"},
                        {"WEFT_ADDRESS", address},
                        {"WEFT_THREADS", "2"}},
                       (logs.path / "worker.log").string());
  weft::cluster_settings with_token;
  with_token.address = address;
  with_token.token = token.substr(0, token.find('\n'));
  std::size_t nodes = 0;
  for (int i = 0; i < 200 && nodes != 2; ++i) {
    try {
      nodes = weft::query_cluster(with_token, 1s).nodes.size();
    } catch (const weft::error&) {
      std::this_thread::sleep_for(100ms);
    }
  }
  INFO(worker.output());
  REQUIRE(nodes == 2);

  weft::cluster_settings without = with_token;
  without.token.clear();
  without.no_token = true;
  CHECK_THROWS_AS(weft::query_cluster(without, 3s), weft::auth_error);

  // A process of another user (another home, so no token) cannot stop it.
  child_process stranger(cli_binary, {"stop", "--address", address},
                         {{"HOME", stranger_home.path.string()}},
                         (logs.path / "stranger.log").string());
  auto refused = stranger.wait_for(20s);
  INFO(stranger.output());
  REQUIRE(refused.has_value());
  CHECK(*refused != 0);
  CHECK(contains(stranger.output(), "token"));
  CHECK(weft::query_cluster(with_token, 3s).nodes.size() == 2);

  child_process owner(cli_binary, {"stop", "--address", address}, local,
                      (logs.path / "owner.log").string());
  auto stopped = owner.wait_for(20s);
  INFO(owner.output());
  REQUIRE(stopped.has_value());
  CHECK(*stopped == 0);
  for (child_process* p : {&head, &worker}) {
    auto rc = p->wait_for(15s);
    INFO(p->output());
    REQUIRE(rc.has_value());
    CHECK(*rc == 0);
  }
}

TEST_CASE("a cluster over mutual TLS runs tasks; plain and foreign-CA nodes are refused") {
  weft_test::temp_dir certs("weft-tls-cluster");
  const weft::tls_files cluster_files = weft::make_tls_files(certs.path / "cluster");
  const weft::tls_files worker_files =
      weft::issue_tls_certificate(certs.path / "cluster", certs.path / "worker");
  const weft::tls_files foreign = weft::make_tls_files(certs.path / "foreign");
  const std::string token = weft::generate_token();
  local_cluster cluster(node_binary, {{"WEFT_TOKEN", token},
                                      {"WEFT_TLS_CERT", cluster_files.cert.string()},
                                      {"WEFT_TLS_KEY", cluster_files.key.string()},
                                      {"WEFT_TLS_CA", cluster_files.ca.string()}});
  // A worker with a certificate of its own, from the same CA.
  cluster.add_worker(
      "worker-1",
      {{"WEFT_TLS_CERT", worker_files.cert.string()}, {"WEFT_TLS_KEY", worker_files.key.string()}},
      2);

  // The right token, but no TLS; then TLS with a certificate of another CA.
  child_process& plain = cluster.start("plain",
                                       {{"WEFT_ROLE", "worker"},
                                        {"WEFT_TLS_CERT", ""},
                                        {"WEFT_TLS_KEY", ""},
                                        {"WEFT_TLS_CA", ""},
                                        {"WEFT_CONNECT_TIMEOUT_MS", "2000"}},
                                       {});
  child_process& stranger = cluster.start("stranger",
                                          {{"WEFT_ROLE", "worker"},
                                           {"WEFT_TLS_CERT", foreign.cert.string()},
                                           {"WEFT_TLS_KEY", foreign.key.string()},
                                           {"WEFT_CONNECT_TIMEOUT_MS", "2000"}},
                                          {});
  for (child_process* refused : {&plain, &stranger}) {
    auto rc = refused->wait_for(30s);
    INFO(refused->output());
    REQUIRE(rc.has_value());
    CHECK(*rc != 0);
  }
  CHECK(contains(plain.output(), "accepts only TLS connections"));
  CHECK(contains(stranger.output(), "refused this node's certificate"));
  CHECK(cluster.head().wait_for_output("the peer does not speak TLS", 5s));
  CHECK(cluster.head().wait_for_output(
      "the peer's certificate was refused: unable to get local issuer certificate", 5s));

  // The cluster goes on serving its own: a driver's workload across the TLS links.
  run_tasks_driver(cluster);
  CHECK(cluster.wait_for_nodes(2).nodes.size() == 2);

  // Outside tools need the TLS settings too: with them `weft status` works, without them the
  // head's refusal says why.
  auto [status_rc, listing] =
      cluster.run_cli(cli_binary, {"status", "--address", cluster.address()}, "status");
  INFO(listing);
  CHECK(status_rc == 0);
  CHECK(contains(listing, "worker-1"));
  weft::cluster_settings no_tls = cluster.settings();
  no_tls.tls_cert = no_tls.tls_key = no_tls.tls_ca = "";
  CHECK_THROWS_WITH_AS(weft::query_cluster(no_tls, 3s),
                       doctest::Contains("accepts only TLS connections"), weft::error);
}

namespace {

// Connects to `port` on 127.0.0.1, writes `bytes`, and waits (bounded) for the peer to close.
bool head_closes_after(int port, const std::vector<unsigned char>& bytes) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  asio::write(socket, asio::buffer(bytes));
  socket.shutdown(asio::ip::tcp::socket::shutdown_send);
  // Read until EOF: the head must close (answering at most with a goodbye).
  std::vector<unsigned char> sink(4096);
  boost::system::error_code ec;
  for (int i = 0; i < 100 && !ec; ++i)
    socket.read_some(asio::buffer(sink), ec);
  return ec == asio::error::eof || ec == asio::error::connection_reset;
}

std::vector<unsigned char> header(std::uint32_t length, std::uint16_t version, std::uint16_t type) {
  std::vector<unsigned char> h(24, 0);
  for (int i = 0; i < 4; ++i)
    h[i] = static_cast<unsigned char>(length >> (8 * i));
  h[4] = static_cast<unsigned char>(version);
  h[5] = static_cast<unsigned char>(version >> 8);
  h[6] = static_cast<unsigned char>(type);
  h[7] = static_cast<unsigned char>(type >> 8);
  return h;
}

}  // namespace

TEST_CASE("malformed bytes are refused with a log line and the head keeps serving") {
  local_cluster cluster(node_binary);
  cluster.add_worker("worker-1", {}, 2);
  const int port = std::stoi(cluster.address().substr(cluster.address().rfind(':') + 1));
  constexpr std::uint16_t version = weft::wire::protocol_version;

  std::mt19937 random(42);
  std::vector<unsigned char> noise(4096);
  for (auto& b : noise)
    b = static_cast<unsigned char>(random());
  struct bad_input {
    const char* what;
    std::vector<unsigned char> bytes;
    const char* logged;
  } cases[] = {
      {"random bytes", noise, "refused connection from"},
      {"wrong protocol version", header(0, 99, 1), "protocol version 99"},
      {"oversized length", header(0xFFFFFFF0u, version, 1), "over the maximum"},
      {"unknown frame type", header(0, version, 77), "unknown type 77"},
      {"truncated frame",
       [] {
         auto h = header(64, version, 1);
         h.resize(40);
         return h;
       }(),
       "in the middle of a frame"},
      {"bad checksum",
       [] {
         auto h = header(4, version, 1);
         h.insert(h.end(), {1, 2, 3, 4});
         return h;
       }(),
       "failed its checksum"},
  };
  for (const auto& c : cases) {
    INFO(std::string(c.what));
    CHECK(head_closes_after(port, c.bytes));
    CHECK(cluster.head().wait_for_output(c.logged, 5s));
    // Still serving: the status query succeeds and the worker is still a member.
    CHECK(cluster.wait_for_nodes(2).nodes.size() == 2);
  }
}

namespace {

// The resident memory of process `pid`, in KiB (from /proc/<pid>/status).
long resident_kib(pid_t pid) {
  const std::string status = child_process::read_file("/proc/" + std::to_string(pid) + "/status");
  const auto at = status.find("VmRSS:");
  return at == std::string::npos ? -1 : std::stol(status.substr(at + 6));
}

}  // namespace

TEST_CASE("a flood of connections that never log in costs the head little and locks no one out") {
  namespace asio = boost::asio;
  local_cluster cluster(node_binary);
  const int port = std::stoi(cluster.address().substr(cluster.address().rfind(':') + 1));
  const long before = resident_kib(cluster.head().pid());
  REQUIRE(before > 0);
  rlimit files{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &files) == 0);
  const int flood = static_cast<int>(std::min<rlim_t>(900, files.rlim_cur - 100));
  asio::io_context io;
  std::vector<std::unique_ptr<asio::ip::tcp::socket>> held;
  for (int i = 0; i < flood; ++i) {
    auto socket = std::make_unique<asio::ip::tcp::socket>(io);
    socket->connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    held.push_back(std::move(socket));
  }
  // The head has taken them all (the last ones turned away the oldest), and its memory grew by
  // a few KiB per connection at most: a 256 KiB buffer each would be 225 MiB for 900.
  REQUIRE(cluster.head().wait_for_output(
      "64 connections have not proven themselves yet: the oldest is closed to make room", 10s));
  std::this_thread::sleep_for(500ms);
  const long during = resident_kib(cluster.head().pid());
  INFO("resident KiB before ", before, ", with ", flood, " connections held: ", during);
  CHECK(during - before < 32 * 1024);
  // A real node still joins while they are held.
  cluster.add_worker("worker-1", {}, 2);
  held.clear();
  // Refusals are logged ten a second at most; the next one logged after a quiet second says
  // how many were left out.
  std::this_thread::sleep_for(1100ms);
  CHECK(head_closes_after(port, {1, 2, 3}));
  CHECK(cluster.head().wait_for_output("more connections were refused since the last one logged",
                                       5s));
  const std::string log = cluster.head().output();
  int lines = 0;
  for (auto at = log.find("refused connection from"); at != std::string::npos;
       at = log.find("refused connection from", at + 1))
    ++lines;
  INFO(log.substr(0, 4000));
  CHECK(lines < flood / 4);
  CHECK(cluster.wait_for_nodes(2).nodes.size() == 2);
}

namespace {

// A connection to a node on 127.0.0.1 that has passed the handshake (cluster "weft", no
// token: what local_cluster runs), for sending it frames of the test's own making.
class proven_peer {
 public:
  explicit proven_peer(int port) : socket_(io_) {
    namespace asio = boost::asio;
    socket_.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    const timeval timeout{5, 0};  // no read blocks past 5 s
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    weft::wire::handshake hs(weft::wire::handshake_role::dialer, {"weft", "", ""},
                             weft::wire::make_nonce());
    const auto hello = hs.start();
    send(hello->type, 0, hello->payload);
    while (!hs.done()) {
      const weft::wire::frame f = next_frame();
      if (auto answer = hs.on_frame(f.header.type, f.payload))
        send(answer->type, 0, answer->payload);
    }
  }
  /// Sends one frame; false when the node has closed the connection already.
  bool send(weft::wire::frame_type type, std::uint64_t request, const std::string& payload) {
    const std::span<const std::byte> pieces[] = {std::as_bytes(std::span(payload))};
    const auto header = weft::wire::encode_header(type, request, pieces);
    boost::system::error_code ec;
    boost::asio::write(socket_,
                       std::array{boost::asio::buffer(header), boost::asio::buffer(payload)}, ec);
    return !ec;
  }
  /// Stops sending, then reads until the node closes or 5 s pass without a byte; true when it
  /// closed.
  bool finish() {
    socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_send);
    std::vector<unsigned char> sink(65536);
    boost::system::error_code ec;
    while (!ec)
      socket_.read_some(boost::asio::buffer(sink), ec);
    return ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
  }

 private:
  weft::wire::frame next_frame() {
    std::vector<std::byte> chunk(4096);
    while (true) {
      if (auto f = reader_.next()) return std::move(*f);
      const std::size_t n = socket_.read_some(boost::asio::buffer(chunk));
      reader_.feed(std::span(chunk.data(), n));
    }
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  weft::wire::frame_reader reader_;
};

}  // namespace

TEST_CASE("forged requests from a proven peer never bring a node down") {
  // Every request kind a peer may send (join and the two stops aside: those are what a proven
  // peer may rightly do), with random payloads, real headers followed by random bytes, and
  // texts or counts announcing far more bytes than follow; to the head and to a worker.
  namespace wire = weft::wire;
  local_cluster cluster(node_binary);
  child_process& worker = cluster.add_worker("worker-1", {}, 2);
  std::string worker_address;
  for (const auto& n : cluster.wait_for_nodes(2).nodes)
    if (n.id == "worker-1") worker_address = n.address;
  REQUIRE_FALSE(worker_address.empty());
  const int ports[] = {std::stoi(cluster.address().substr(cluster.address().rfind(':') + 1)),
                       std::stoi(worker_address.substr(worker_address.rfind(':') + 1))};
  std::mt19937 random(2026);
  const auto noise = [&](std::size_t max) {
    std::string out(random() % (max + 1), '\0');
    for (char& c : out)
      c = static_cast<char>(random());
    return out;
  };
  // One value entry of an argument list (weft/detail/wire_value.hpp): tag, length, bytes.
  const auto argument_entry = [](const std::string& bytes) {
    std::string out(1, '\0');
    for (int b = 0; b < 8; ++b)
      out.push_back(static_cast<char>((bytes.size() >> (8 * b)) & 0xFF));
    return out + bytes;
  };
  const std::string huge_text("\xF0\xFF\xFF\x7F", 4);  // a text or count of ~2^31
  const std::vector<std::uint8_t> kinds = {2,  3,  6,  7,  8,  9,  10, 11, 12,
                                           13, 14, 15, 16, 17, 18, 19, 20};
  constexpr int frames_per_node = 150;
  int closed = 0;
  for (const int port : ports) {
    // One forged frame per connection: a node closes a connection at the first frame it
    // cannot decode, so the frames after it would never be read.
    for (int i = 0; i < frames_per_node; ++i) {
      {
        const auto kind = static_cast<wire::request_kind>(kinds[random() % kinds.size()]);
        std::string payload;
        switch (random() % 4) {
          case 0:  // the kind, then noise
            payload = std::string(1, static_cast<char>(kind)) + noise(200);
            break;
          case 1: {  // a task of a registered function, its arguments well framed, forged
            const char* functions[] = {"fail_with", "sum", "add", "host_of", "nothing"};
            payload =
                wire::request_payload(wire::request_kind::run_task,
                                      wire::task_header{functions[random() % 5], "forged", 0, {}});
            for (std::uint32_t n = random() % 3; n > 0; --n)
              payload += argument_entry(noise(24));
            break;
          }
          case 2:  // a call of an actor method with forged arguments
            payload = wire::request_payload(
                          wire::request_kind::call_actor,
                          wire::actor_call_header{noise(8), "ledger::append", "forged", 0}) +
                      argument_entry(noise(24)) + argument_entry(noise(8));
            break;
          case 3:  // a length announcing more than follows
            payload = std::string(1, static_cast<char>(kind)) + huge_text + noise(16);
            break;
        }
        const auto type =
            random() % 8 == 0 ? wire::frame_type::response : wire::frame_type::request;
        proven_peer peer(port);
        peer.send(type, random() % 4 == 0 ? 0 : 1 + random() % 1000, payload);
        closed += peer.finish() ? 1 : 0;  // answered or closed: the node must still be there
      }
    }
  }
  // Every connection ended with the node closing it (at the forged frame, or at the end of
  // the stream), none by the 5 s read timeout: no node hung on what it was sent.
  CHECK(closed == 2 * frames_per_node);
  CHECK_FALSE(cluster.head().wait_for(0ms).has_value());
  CHECK_FALSE(worker.wait_for(0ms).has_value());
  // Both still serve: the worker is still a member and runs a real driver's tasks.
  CHECK(cluster.wait_for_nodes(2).nodes.size() == 2);
  run_tasks_driver(cluster);
}

TEST_CASE("remote actors: a named actor on a worker, ordered calls from two drivers, kill") {
  local_cluster cluster(node_binary);
  cluster.add_worker("worker-1", {{"WEFT_RESOURCES", "a=1"}}, 2);
  cluster.add_worker("worker-2", {}, 3);
  child_process& a = cluster.start("driver-a", {}, {"actor_owner"});
  // Driver B kills the ledger: it starts once driver A's checks of the live ledger are done
  // (started earlier, B's kill could come first and A's duplicate-name check would spawn).
  REQUIRE(a.wait_for_output("get_or_spawn_same=", 60s));
  child_process& b = cluster.start("driver-b", {}, {"actor_peer"});
  const auto status =
      cluster.run_cli(cli_binary, {"status", "--address", cluster.address()}, "status");
  auto rc_b = b.wait_for(60s);
  auto rc_a = a.wait_for(60s);
  const std::string out_a = a.output();
  const std::string out_b = b.output();
  INFO(out_a);
  INFO(out_b);
  REQUIRE(rc_a.has_value());
  REQUIRE(rc_b.has_value());
  CHECK(*rc_a == 0);
  CHECK(*rc_b == 0);
  // Driver A: the actor lives where it was pinned; its calls ran in order.
  CHECK(contains(out_a, "spawned_on=worker-1"));
  CHECK(contains(out_a, "a_in_order=1"));
  CHECK(contains(out_a, "placed_on=worker-1\nplaced_title=by-resources"));
  CHECK(contains(out_a,
                 "bad_pin=cannot spawn ledger on node 'worker-9' (actor_options::node): "
                 "no such live node in the cluster"));
  CHECK(contains(out_a, "duplicate=an actor named 'ledger' already exists in namespace"));
  CHECK(contains(out_a, "(on node worker-1)"));
  CHECK(contains(out_a, "get_or_spawn_same=1"));
  CHECK(contains(out_a, "a_saw_death=actor 'ledger' (ledger) died: killed by runtime::kill"));
  // Driver B: found by name from another process; both drivers' calls in their own order.
  CHECK(contains(out_b, "found_on=worker-1\nfound_title=book"));
  CHECK(contains(out_b, "b_in_order=1"));
  CHECK(contains(out_b, "entries=400\norders_ok=1"));
  CHECK(contains(out_b, "method_error_type=std::runtime_error\nmethod_error=boom"));
  CHECK(contains(out_b, "alive_after_error=book"));
  CHECK(contains(out_b, "unregistered=actor 'ledger' (ledger) lives on another node"));
  CHECK(contains(out_b, "b_after_kill=actor 'ledger' (ledger) died: killed by runtime::kill"));
  CHECK(contains(out_b, "lookup_after_kill=no live actor named 'ledger'"));
  // weft status listed the named actor and the registered type while it lived.
  INFO(status.second);
  CHECK(status.first == 0);
  CHECK(contains(status.second, "ledger"));
  CHECK(contains(status.second, "worker-1"));
}

namespace {

// Starts head, worker-1 (which alone has the "victim" resource) and worker-2 with fast
// heartbeats, runs the driver's "lost" scenario, sends `signal` to worker-1 once its task runs
// there, and returns the driver's output after checking it ended well.
std::string lose_a_worker(local_cluster& cluster, int signal) {
  child_process& victim = cluster.add_worker("worker-1", {{"WEFT_RESOURCES", "victim=1"}}, 2);
  cluster.add_worker("worker-2", {}, 3);
  child_process& driver = cluster.start("driver", {{"WEFT_OFFLOAD_THRESHOLD", "0"}}, {"lost"});
  REQUIRE(driver.wait_for_output("submitted", 20s));
  std::this_thread::sleep_for(200ms);  // let the task reach the worker
  victim.signal(signal);
  auto rc = driver.wait_for(40s);
  const std::string out = driver.output();
  INFO(out);
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
  CHECK(contains(out, "after=42"));  // the cluster goes on with worker-2
  return out;
}

const std::map<std::string, std::string> fast_heartbeats{{"WEFT_HEARTBEAT_MS", "100"},
                                                         {"WEFT_HEARTBEAT_TIMEOUT_MS", "1000"}};

}  // namespace

TEST_CASE("a worker killed with SIGKILL: a task only it could run fails with node_died, no hang") {
  local_cluster cluster(node_binary, fast_heartbeats);
  const std::string out = lose_a_worker(cluster, SIGKILL);
  INFO(out);
  CHECK(contains(out,
                 "lost=task 'sleep_ms' is lost: it was sent 1 time, and each node was lost "
                 "before it answered (worker-1: "));
  CHECK(contains(out, "no other live node registers 'sleep_ms' with resources victim=1"));
  CHECK(contains(out, "resident_on=worker-1"));
  CHECK(contains(out, "resident_died=unnamed actor (ledger) died: "));
  CHECK(cluster.wait_for_nodes(2).nodes.size() == 2);  // the head and worker-2
}

TEST_CASE("a silent worker (SIGSTOP) is declared dead after the heartbeat timeout") {
  local_cluster cluster(node_binary, fast_heartbeats);
  const std::string out = lose_a_worker(cluster, SIGSTOP);
  INFO(out);
  CHECK(contains(out,
                 "lost=task 'sleep_ms' is lost: it was sent 1 time, and each node was lost "
                 "before it answered (worker-1: node worker-1 left the cluster"));
  CHECK(cluster.head().wait_for_output("node worker-1 missed its heartbeats for 1000 ms", 5s));
}

TEST_CASE(
    "a 256 MiB result made on worker A is read on worker B, not through the driver; "
    "a 100 MiB argument (over the frame limit) travels in chunks") {
  local_cluster cluster(node_binary);
  cluster.add_worker("worker-1", {{"WEFT_RESOURCES", "a=1"}}, 2);
  cluster.add_worker("worker-2", {{"WEFT_RESOURCES", "b=1"}}, 3);
  child_process& driver = cluster.start("driver", {}, {"objects"});
  auto rc = driver.wait_for(120s);
  const std::string out = driver.output();
  INFO(out);
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
  CHECK(contains(out, "reader=worker-2"));
  CHECK(contains(out, "checksum_ok=1"));
  CHECK(contains(out, "small_intact=1"));
  CHECK(value_of(out, "driver_pulls") == 0);        // the big block never came here
  CHECK(value_of(out, "driver_pulls_after") == 1);  // the small one did, once, on get()
  // Worker-2 kept the block in its arena: read again without a pull, dropped after release.
  CHECK(contains(out, "again_ok=1"));
  CHECK(value_of(out, "worker_pulls") == 1);
  CHECK(value_of(out, "worker_pulls_after") == 1);
  CHECK(value_of(out, "worker_objects") >= 1);
  CHECK(value_of(out, "worker_objects_after_release") < value_of(out, "worker_objects"));
  CHECK(contains(out, "big_argument_ok=1"));
  const long long block = 256ll << 20;
  const long long argument = 100ll << 20;
  CHECK(value_of(out, "bytes_received[worker-2]") >= block + argument);
  CHECK(value_of(out, "bytes_received[worker-2]") < block + argument + (4ll << 20));  // once
  CHECK(value_of(out, "bytes_sent[driver-1]") >= argument);
  CHECK(value_of(out, "bytes_received[driver-1]") < (2ll << 20));
  CHECK(value_of(out, "bytes_received[worker-1]") < (1ll << 20));
}

TEST_CASE("the weft tool says what is wrong: no address, no head, no --head") {
  char dir_template[] = "/tmp/weft-cli-test-XXXXXX";
  const std::string dir = ::mkdtemp(dir_template);
  auto run = [&](std::vector<std::string> args, const std::string& name) {
    child_process cli(cli_binary, std::move(args), {}, dir + "/" + name + ".log");
    auto rc = cli.wait_for(20s);
    REQUIRE(rc.has_value());
    return std::make_pair(*rc, cli.output());
  };
  ::unsetenv("WEFT_ADDRESS");
  auto [no_address_rc, no_address] = run({"status"}, "no-address");
  CHECK(no_address_rc == 2);
  CHECK(contains(no_address, "give the head's address with --address"));
  const std::string nobody = "127.0.0.1:" + std::to_string(free_port());
  auto [no_head_rc, no_head] = run({"status", "--address", nobody}, "no-head");
  CHECK(no_head_rc == 1);
  CHECK(contains(no_head, "cannot reach the head at " + nobody));
  auto [no_flag_rc, no_flag] = run({"start"}, "no-flag");
  CHECK(no_flag_rc != 0);
  CHECK(contains(no_flag, "--head"));
  auto [token_rc, token] = run({"token", "generate"}, "token");
  CHECK(token_rc == 0);
  REQUIRE(token.size() == 65);  // 64 hex digits and a newline
  CHECK(token.find_first_not_of("0123456789abcdef\n") == std::string::npos);
  CHECK(weft::token_bits(token.substr(0, 64)) >= weft::min_token_bits);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}
