// Mutual TLS on cluster connections: two connections over 127.0.0.1, driven directly, with
// certificates made by weft::make_tls_files; and the files and settings themselves.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cluster/connection.hpp"
#include "cluster/tls_context.hpp"
#include "temp_dir.hpp"
#include "weft/errors.hpp"
#include "weft/tls_files.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using weft::cluster::connection;

namespace {

// What one end of a connection saw: opened, the first frame, and why it closed.
class recording_events final : public weft::cluster::connection_events {
 public:
  void on_open(connection&) override { opened = true; }
  void on_frame(connection& c, weft::wire::frame&& f) override {
    if (f.header.type == weft::wire::frame_type::request) {
      // Echo it back, so the dialer sees its own bytes come back through both sessions.
      std::string bytes(reinterpret_cast<const char*>(f.payload.data()), f.payload.size());
      c.send(weft::wire::frame_type::response, f.header.request_id, std::move(bytes));
    } else if (!got_frame) {
      got_frame = true;
      frame.set_value(std::move(f));
    } else {
      echoed.push_back(
          {f.header.request_id,
           std::string(reinterpret_cast<const char*>(f.payload.data()), f.payload.size())});
      if (echoed.size() == expected_echoes) all_echoed.set_value();
    }
  }
  void on_closed(connection&, const std::string& reason) override { closed.set_value(reason); }

  bool opened = false;
  bool got_frame = false;
  std::promise<weft::wire::frame> frame;
  // Responses after the first, in arrival order; all_echoed is set at expected_echoes.
  std::vector<std::pair<std::uint64_t, std::string>> echoed;
  std::size_t expected_echoes = 0;
  std::promise<void> all_echoed;
  std::promise<std::string> closed;
};

weft::cluster_settings tls_settings(const weft::tls_files& files) {
  weft::cluster_settings s;
  s.tls_cert = files.cert.string();
  s.tls_key = files.key.string();
  s.tls_ca = files.ca.string();
  return s;
}

weft::cluster::link_identity identity_with(std::shared_ptr<asio::ssl::context> tls,
                                           std::string id) {
  weft::cluster::link_identity identity;
  identity.cluster_name = "test";
  identity.self_id = std::move(id);
  identity.handshake_timeout = 20s;
  identity.tls = std::move(tls);
  return identity;
}

// A listener and a dialer on one io thread; `listener_tls` and `dialer_tls` may be null
// (plain TCP).
class link_pair {
 public:
  link_pair(std::shared_ptr<asio::ssl::context> listener_tls,
            std::shared_ptr<asio::ssl::context> dialer_tls)
      : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    acceptor_.async_accept([this, listener_tls](const boost::system::error_code& ec,
                                                asio::ip::tcp::socket socket) {
      if (ec) return;
      accepted_ =
          connection::accept(io_, std::move(socket), listener, identity_with(listener_tls, "head"));
    });
    dialed_ = connection::dial(io_, dialer, identity_with(dialer_tls, "worker-1"), "127.0.0.1",
                               acceptor_.local_endpoint().port());
    runner_ = std::thread([this] { io_.run(); });
  }
  ~link_pair() {
    if (dialed_) dialed_->close("test over");
    if (accepted_) accepted_->close("test over");
    work_.reset();
    std::this_thread::sleep_for(50ms);
    io_.stop();
    runner_.join();
  }
  link_pair(const link_pair&) = delete;
  link_pair& operator=(const link_pair&) = delete;

  // Why `side` closed; fails the whole test binary if it does not within 20 s (its io thread
  // would be stuck).
  static std::string reason_of(recording_events& side) {
    auto closed = side.closed.get_future();
    if (closed.wait_for(20s) != std::future_status::ready) {
      std::fprintf(stderr, "a connection did not close within 20 s\n");
      std::_Exit(1);
    }
    return closed.get();
  }

  std::shared_ptr<connection> dialed() const { return dialed_; }

  recording_events listener;
  recording_events dialer;

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<connection> accepted_;
  std::shared_ptr<connection> dialed_;
  std::thread runner_;
};

}  // namespace

TEST_CASE("two nodes with certificates of one CA talk through TLS, large frames included") {
  weft_test::temp_dir dir("weft-tls");
  const weft::tls_files head = weft::make_tls_files(dir.path / "head");
  const weft::tls_files worker = weft::issue_tls_certificate(dir.path / "head", dir.path / "w");
  auto head_tls = weft::cluster::make_tls_context(tls_settings(head));
  auto worker_tls = weft::cluster::make_tls_context(tls_settings(worker));
  REQUIRE(head_tls);
  REQUIRE(worker_tls);
  link_pair link(head_tls, worker_tls);

  // Large enough to be read straight into place (past 1 MiB), with a pattern to check.
  std::string payload(3u << 20, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<char>(i * 7 % 251);
  link.dialed()->send(weft::wire::frame_type::request, 42, payload);
  auto echoed = link.dialer.frame.get_future();
  REQUIRE(echoed.wait_for(20s) == std::future_status::ready);
  const weft::wire::frame f = echoed.get();
  CHECK(f.header.type == weft::wire::frame_type::response);
  CHECK(f.header.request_id == 42);
  const std::span<const std::byte> got = f.placed.empty() ? std::span<const std::byte>(f.payload)
                                                          : std::span<const std::byte>(f.placed);
  REQUIRE(got.size() == payload.size());
  CHECK(std::memcmp(got.data(), payload.data(), payload.size()) == 0);
  CHECK(link.dialed()->peer_id() == "head");
  CHECK(link.dialed()->is_open());
  // The connection counts the frames' bytes that went through the session (its handshake
  // frames too), as over plain TCP.
  CHECK(link.dialed()->bytes_sent() > payload.size() + weft::wire::header_size);

  // Many small frames back to back (batched and copied together into records): all of them
  // come back, in order, with their own bytes.
  constexpr std::uint64_t small_frames = 5000;
  link.dialer.expected_echoes = small_frames;
  auto all = link.dialer.all_echoed.get_future();
  for (std::uint64_t i = 1; i <= small_frames; ++i)
    link.dialed()->send(weft::wire::frame_type::request, 100 + i, "frame " + std::to_string(i));
  REQUIRE(all.wait_for(20s) == std::future_status::ready);
  bool in_order = true;
  for (std::uint64_t i = 1; i <= small_frames; ++i) {
    const auto& [id, text] = link.dialer.echoed[i - 1];
    in_order = in_order && id == 100 + i && text == "frame " + std::to_string(i);
  }
  CHECK(in_order);
}

TEST_CASE("a node whose certificate another CA signed is refused, and both ends say why") {
  weft_test::temp_dir dir("weft-tls");
  const weft::tls_files head = weft::make_tls_files(dir.path / "head");
  const weft::tls_files stranger = weft::make_tls_files(dir.path / "stranger");
  weft::cluster_settings intruder = tls_settings(stranger);
  intruder.tls_ca = head.ca.string();  // trusts the cluster, but the cluster does not trust it
  link_pair link(weft::cluster::make_tls_context(tls_settings(head)),
                 weft::cluster::make_tls_context(intruder));
  const std::string head_saw = link_pair::reason_of(link.listener);
  const std::string intruder_saw = link_pair::reason_of(link.dialer);
  INFO(head_saw);
  INFO(intruder_saw);
  CHECK(head_saw.find("the peer's certificate was refused") != std::string::npos);
  CHECK(head_saw.find("unable to get local issuer certificate") != std::string::npos);
  CHECK(intruder_saw.find("refused this node's certificate") != std::string::npos);
  CHECK_FALSE(link.listener.opened);
  CHECK_FALSE(link.dialer.opened);
}

TEST_CASE("a head whose certificate another CA signed is refused by the dialing node") {
  weft_test::temp_dir dir("weft-tls");
  const weft::tls_files cluster = weft::make_tls_files(dir.path / "cluster");
  const weft::tls_files fake = weft::make_tls_files(dir.path / "fake");
  weft::cluster_settings fake_head = tls_settings(fake);
  fake_head.tls_ca = cluster.ca.string();
  link_pair link(weft::cluster::make_tls_context(fake_head),
                 weft::cluster::make_tls_context(tls_settings(cluster)));
  const std::string worker_saw = link_pair::reason_of(link.dialer);
  INFO(worker_saw);
  CHECK(worker_saw.find("the peer's certificate was refused") != std::string::npos);
  CHECK(worker_saw.find("unable to get local issuer certificate") != std::string::npos);
  CHECK_FALSE(link.dialer.opened);
}

TEST_CASE("an expired certificate is refused, saying it expired") {
  weft_test::temp_dir dir("weft-tls");
  const weft::tls_files head = weft::make_tls_files(dir.path / "head");
  weft::tls_files_options old;
  old.starts_in = -std::chrono::hours(48);
  old.valid_for = std::chrono::hours(24);
  const weft::tls_files expired =
      weft::issue_tls_certificate(dir.path / "head", dir.path / "old", old);
  link_pair link(weft::cluster::make_tls_context(tls_settings(head)),
                 weft::cluster::make_tls_context(tls_settings(expired)));
  const std::string head_saw = link_pair::reason_of(link.listener);
  INFO(head_saw);
  CHECK(head_saw.find("certificate has expired") != std::string::npos);
  CHECK_FALSE(link.listener.opened);
}

TEST_CASE("a plain node and a TLS node refuse each other, each saying the other's kind") {
  weft_test::temp_dir dir("weft-tls");
  const weft::tls_files files = weft::make_tls_files(dir.path / "c");
  auto tls = weft::cluster::make_tls_context(tls_settings(files));

  SUBCASE("a plain node dials a TLS node") {
    link_pair link(tls, nullptr);
    const std::string tls_side = link_pair::reason_of(link.listener);
    const std::string plain_side = link_pair::reason_of(link.dialer);
    INFO(tls_side);
    INFO(plain_side);
    CHECK(tls_side.find("the peer does not speak TLS") != std::string::npos);
    const bool plain_told = plain_side.find("accepts only TLS connections") != std::string::npos ||
                            plain_side.find("the peer speaks TLS") != std::string::npos;
    CHECK(plain_told);
  }
  SUBCASE("a TLS node dials a plain node") {
    link_pair link(nullptr, tls);
    const std::string plain_side = link_pair::reason_of(link.listener);
    const std::string tls_side = link_pair::reason_of(link.dialer);
    INFO(tls_side);
    INFO(plain_side);
    CHECK(plain_side.find("the peer speaks TLS and this node does not") != std::string::npos);
    CHECK(tls_side.find("the peer does not speak TLS") != std::string::npos);
  }
}

TEST_CASE("a wrong token inside TLS is still refused by the token handshake") {
  weft_test::temp_dir dir("weft-tls");
  const weft::tls_files files = weft::make_tls_files(dir.path / "c");
  auto tls = weft::cluster::make_tls_context(tls_settings(files));
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  recording_events head, worker;
  std::shared_ptr<connection> accepted;
  auto head_identity = identity_with(tls, "head");
  head_identity.token = std::string(64, 'a') + "0123456789abcdef";
  acceptor.async_accept([&](const boost::system::error_code& ec, asio::ip::tcp::socket s) {
    if (!ec) accepted = connection::accept(io, std::move(s), head, head_identity);
  });
  auto worker_identity = identity_with(tls, "worker-1");
  worker_identity.token = std::string(64, 'b') + "0123456789abcdef";
  auto dialed =
      connection::dial(io, worker, worker_identity, "127.0.0.1", acceptor.local_endpoint().port());
  std::thread runner([&] { io.run(); });
  const std::string head_saw = link_pair::reason_of(head);
  const std::string worker_saw = link_pair::reason_of(worker);
  INFO(head_saw);
  INFO(worker_saw);
  CHECK(head_saw.find("token") != std::string::npos);
  // The refusal reached the worker through the TLS session, in its own words.
  CHECK(worker_saw.find("the peer gave up the handshake") != std::string::npos);
  CHECK(worker_saw.find("token") != std::string::npos);
  work.reset();
  io.stop();
  runner.join();
}

TEST_CASE("TLS settings are checked when the node starts, naming the file at fault") {
  weft_test::temp_dir dir("weft-tls");
  const weft::tls_files a = weft::make_tls_files(dir.path / "a");
  const weft::tls_files b = weft::make_tls_files(dir.path / "b");

  weft::cluster_settings wrong_key = tls_settings(a);
  wrong_key.tls_key = b.key.string();
  CHECK_THROWS_WITH_AS(weft::cluster::make_tls_context(wrong_key),
                       doctest::Contains("is not the private key of the certificate"),
                       weft::config_error);

  weft::cluster_settings missing = tls_settings(a);
  missing.tls_ca = (dir.path / "nowhere.pem").string();
  CHECK_THROWS_WITH_AS(weft::cluster::make_tls_context(missing), doctest::Contains("WEFT_TLS_CA='"),
                       weft::config_error);

  weft::cluster_settings not_pem = tls_settings(a);
  not_pem.tls_cert = a.key.string();  // a key where the certificate should be
  CHECK_THROWS_WITH_AS(weft::cluster::make_tls_context(not_pem),
                       doctest::Contains("holds no usable PEM certificate"), weft::config_error);

  weft::cluster_settings partial;
  partial.role = weft::node_role::worker;
  partial.address = "127.0.0.1:7070";
  partial.tls_cert = a.cert.string();
  CHECK_THROWS_WITH_AS(partial.validate(), doctest::Contains("needs all three"),
                       weft::config_error);

  CHECK(weft::cluster::make_tls_context(weft::cluster_settings{}) == nullptr);
}

TEST_CASE("make_tls_files writes keys only its owner reads and never overwrites") {
  weft_test::temp_dir dir("weft-tls");
  const weft::tls_files files = weft::make_tls_files(dir.path / "set");
  struct stat st {};
  REQUIRE(::stat(files.key.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(files.ca_key.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat((dir.path / "set").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  CHECK_THROWS_WITH_AS(weft::make_tls_files(dir.path / "set"), doctest::Contains("exists already"),
                       weft::error);
  CHECK_THROWS_WITH_AS(weft::issue_tls_certificate(dir.path / "none", dir.path / "x"),
                       doctest::Contains("no such file"), weft::error);
}
