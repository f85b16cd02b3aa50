#pragma once
// A plain HTTP/1.1 client for tests of weft's endpoints (Boost.Beast), on 127.0.0.1 only, every
// request bounded by a deadline.

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <stdexcept>
#include <string>

namespace weft_test {

/// What an endpoint answered.
struct http_reply {
  unsigned status = 0;
  std::string content_type;
  std::string www_authenticate;
  std::string body;
};

/// Sends one request to 127.0.0.1:`port` and reads the answer; throws std::runtime_error when
/// the connection fails or nothing complete comes back within 10 s. `padding` adds a header
/// of that many bytes (to test size limits).
inline http_reply http_request(unsigned port, const std::string& target,
                               const std::string& authorization = "",
                               boost::beast::http::verb method = boost::beast::http::verb::get,
                               std::size_t padding = 0) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  asio::io_context io;
  beast::tcp_stream stream(io);
  http::request<http::empty_body> request(method, target, 11);
  request.set(http::field::host, "127.0.0.1");
  if (!authorization.empty()) request.set(http::field::authorization, authorization);
  if (padding) request.set("X-Padding", std::string(padding, 'p'));
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  beast::error_code failure;
  stream.expires_after(std::chrono::seconds(10));
  const asio::ip::tcp::endpoint at(asio::ip::make_address("127.0.0.1"),
                                   static_cast<unsigned short>(port));
  stream.async_connect(at, [&](beast::error_code ec) {
    if (ec) {
      failure = ec;
      return;
    }
    http::async_write(stream, request, [&](beast::error_code wec, std::size_t) {
      // A server may answer and close before reading a request it refuses; read anyway.
      (void)wec;
      http::async_read(stream, buffer, response,
                       [&](beast::error_code rec, std::size_t) { failure = rec; });
    });
  });
  io.run();
  if (failure)
    throw std::runtime_error("HTTP request to 127.0.0.1:" + std::to_string(port) + target +
                             " failed: " + failure.message());
  http_reply reply;
  reply.status = response.result_int();
  reply.content_type = std::string(response[http::field::content_type]);
  reply.www_authenticate = std::string(response[http::field::www_authenticate]);
  reply.body = response.body();
  return reply;
}

}  // namespace weft_test
