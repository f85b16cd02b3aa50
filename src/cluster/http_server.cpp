// http_server: Boost.Beast sessions with bounded requests and the cluster token's check.

#include "http_server.hpp"

#include <fmt/core.h>
#include <openssl/crypto.h>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>

#include "weft/errors.hpp"

namespace weft::cluster {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t max_sessions = 64;
constexpr std::uint32_t header_limit = 8 * 1024;
constexpr std::uint64_t body_limit = 64 * 1024;
constexpr auto request_deadline = std::chrono::seconds(10);

bool same_secret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

/// One client connection: read a request, answer it, and again while it keeps the connection.
class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(http_server& server, tcp::socket socket)
      : server_(server), stream_(std::move(socket)) {}

  void start() { read_next(); }
  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  void read_next() {
    parser_.emplace();
    parser_->header_limit(header_limit);
    parser_->body_limit(body_limit);
    stream_.expires_after(request_deadline);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      if (ec == http::error::header_limit || ec == http::error::body_limit) {
        // 431 for headers over the limit, 413 for a body over it.
        reply(
            http_answer{ec == http::error::header_limit ? 431u : 413u, "text/plain; charset=utf-8",
                        "the request is larger than this endpoint reads (8 KiB of headers, "
                        "64 KiB of body)\n"},
            false, 11);
        return;
      }
      finish();
      return;
    }
    const auto& request = parser_->get();
    const bool get_or_head =
        request.method() == http::verb::get || request.method() == http::verb::head;
    http_answer answer = server_.answer(get_or_head, std::string(request.target()),
                                        std::string(request[http::field::authorization]));
    if (request.method() == http::verb::head) answer.body.clear();
    reply(std::move(answer), request.keep_alive(), request.version());
  }

  void reply(http_answer answer, bool keep_alive, unsigned version) {
    response_.emplace(static_cast<http::status>(answer.status), version);
    response_->set(http::field::server, "weft");
    response_->set(http::field::content_type, answer.content_type);
    response_->set(http::field::cache_control, "no-store");
    if (answer.status == 401)
      response_->set(http::field::www_authenticate, "Bearer realm=\"weft\"");
    response_->body() = std::move(answer.body);
    response_->keep_alive(keep_alive);
    response_->prepare_payload();
    stream_.expires_after(request_deadline);
    http::async_write(stream_, *response_,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                        if (ec || !keep_alive)
                          self->finish();
                        else
                          self->read_next();
                      });
  }

  void finish() {
    close();
    server_.forget(shared_from_this());
  }

  http_server& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{header_limit + body_limit};
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
};

http_server::http_server(const std::string& host, unsigned port, std::string token,
                         http_route route)
    : token_(std::move(token)), route_(std::move(route)), acceptor_(io_) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) {
    throw config_error(
        fmt::format("cannot serve HTTP on '{}': not an IP address ({})", host, ec.message()));
  }
  const tcp::endpoint at(address, static_cast<unsigned short>(port));
  acceptor_.open(at.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(at, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw config_error(fmt::format(
        "cannot serve HTTP on {}:{}: {}; set WEFT_METRICS_PORT (config.metrics_port) to a free "
        "port, or to 0 for any",
        host, port, ec.message()));
  }
  port_ = acceptor_.local_endpoint().port();
  accept_next();
  thread_ = std::thread([this] { io_.run(); });
}

http_server::~http_server() {
  stop();
}

void http_server::stop() noexcept {
  if (stopped_.exchange(true)) return;
  asio::post(io_, [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
    for (const auto& s : sessions_)
      s->close();
    sessions_.clear();
  });
  if (thread_.joinable()) thread_.join();
}

void http_server::accept_next() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec) return;  // closed by stop()
    if (sessions_.size() >= max_sessions) {
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      auto session = std::make_shared<http_session>(*this, std::move(socket));
      sessions_.insert(session);
      session->start();
    }
    accept_next();
  });
}

void http_server::forget(const std::shared_ptr<http_session>& session) {
  sessions_.erase(session);
}

http_answer http_server::answer(bool get_or_head, const std::string& target,
                                const std::string& authorization) const {
  if (!token_.empty() && !same_secret(authorization, "Bearer " + token_)) {
    return {401, "text/plain; charset=utf-8",
            "this weft cluster has a token: send it as `Authorization: Bearer <token>` (the "
            "token is WEFT_TOKEN, or the first line of ~/.weft/token)\n"};
  }
  if (!get_or_head) return {405, "text/plain; charset=utf-8", "only GET and HEAD are served\n"};
  return route_(target);
}

}  // namespace weft::cluster
