#pragma once
// A small HTTP/1.1 server on Boost.Beast for a node's endpoints (metrics now; the status page
// and /api later): one thread of its own, so a slow scraper never holds up the node's links or
// a TBB worker. It checks the cluster token on every request and bounds what a client can make
// it hold: headers of 8 KiB, bodies of 64 KiB, 64 connections, 10 s to send a request.

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace weft::cluster {

/// What a route answers.
struct http_answer {
  unsigned status = 200;  ///< 200, 404, ...
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

/// Answers a GET of `target` (the path and query); runs on the server's thread.
using http_route = std::function<http_answer(const std::string& target)>;

class http_session;

/// Listens on host:port and answers GET and HEAD through `route`, after the token check.
class http_server {
 public:
  /// Binds and starts; throws config_error naming host:port when it cannot listen. An empty
  /// `token` serves anyone who can connect.
  http_server(const std::string& host, unsigned port, std::string token, http_route route);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// The port listened on.
  unsigned port() const noexcept { return port_; }
  /// Stops accepting, closes every connection and joins the thread. Idempotent.
  void stop() noexcept;

  /// The answer to a request with these method, target and Authorization header (the token
  /// check and the routing, without the socket). Server thread.
  http_answer answer(bool get_or_head, const std::string& target,
                     const std::string& authorization) const;
  /// A session ended (server thread).
  void forget(const std::shared_ptr<http_session>& session);

 private:
  void accept_next();

  const std::string token_;
  const http_route route_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned port_ = 0;
  std::set<std::shared_ptr<http_session>> sessions_;  // server thread
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

}  // namespace weft::cluster
