// src/cluster/connection: one connection over 127.0.0.1, driven directly.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "cluster/connection.hpp"
#include "weft/detail/wire_value.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using weft::cluster::connection;

namespace {

// Records when the connection closes, and why.
class closing_events final : public weft::cluster::connection_events {
 public:
  void on_open(connection&) override {}
  void on_frame(connection&, weft::wire::frame&&) override {}
  void on_closed(connection&, const std::string& reason) override { closed.set_value(reason); }
  std::promise<std::string> closed;
};

}  // namespace

TEST_CASE("a frame dropped at close whose end sends on the same connection does not deadlock") {
  // Seen in chaos_test: the last reference to an object sat in a queued frame; dropping the
  // queue at close ended the object, which told its pullers on this very connection.
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  asio::ip::tcp::acceptor listener(io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket silent(io);  // accepts, never says a word, then hangs up
  listener.async_accept(silent, [](const boost::system::error_code&) {});
  closing_events events;
  weft::cluster::link_identity identity;
  identity.cluster_name = "test";
  identity.handshake_timeout = 60s;
  auto c = connection::dial(io, events, identity, "127.0.0.1", listener.local_endpoint().port());
  std::thread runner([&] { io.run(); });

  // Queued, not written: the connection is still in its handshake.
  auto body = std::make_shared<weft::detail::wire_value>();
  std::weak_ptr<connection> weak = c;
  body->keep_alive(std::shared_ptr<const void>(nullptr, [weak](const void*) {
    if (auto again = weak.lock()) again->send(weft::wire::frame_type::request, 2, "gone");
  }));
  c->send(weft::wire::frame_type::request, 1, "first", std::move(body));
  std::this_thread::sleep_for(200ms);
  asio::post(io, [&] { silent.close(); });

  auto closed = events.closed.get_future();
  if (closed.wait_for(20s) != std::future_status::ready) {
    std::fprintf(stderr, "the connection's io thread is stuck: it did not close within 20 s\n");
    std::_Exit(1);  // its thread cannot be joined
  }
  const std::string reason = closed.get();
  INFO(reason);
  CHECK((reason == "Connection reset by peer" || reason == "the peer closed the connection"));
  work.reset();
  c.reset();
  io.stop();
  runner.join();
}
