#pragma once
// One TCP connection between two nodes (DESIGN.md section 5, "Wire"): the handshake that
// proves both ends know the cluster's token, then framed messages both ways. Frames queued
// while a write is in flight go out together in the next gather write (batching); a frame's
// payload is written from where it lies (scatter-gather), never copied into a send buffer.
//
// With TLS (link_identity::tls), the TCP connection first becomes a TLS 1.3 session in which
// both ends show a certificate signed by the cluster CA; the token handshake and every frame
// then go through it, and the sending thread no longer writes to the socket itself.
//
// Everything happens on one io_context thread except send() and close(), which any thread
// may call. Anything malformed from the peer closes the connection with a logged reason and
// tells the owner through on_closed; it never throws out of the io thread.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "weft/detail/wire_value.hpp"
#include "wire/frame.hpp"
#include "wire/handshake.hpp"

namespace weft::cluster {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

/// What both sides of a handshake must agree on, and this side's name.
struct link_identity {
  std::string cluster_name;
  std::string token;
  std::string self_id;  ///< This node's id ("" before it has one).
  std::uint32_t max_frame_bytes = wire::default_max_payload;
  std::chrono::milliseconds handshake_timeout{5000};
  /// The TLS context (make_tls_context) when the cluster runs over TLS; null for plain TCP.
  std::shared_ptr<asio::ssl::context> tls;
};

class connection;

/// What a connection reports to its owner, always on the io thread.
class connection_events {
 public:
  /// The handshake succeeded; frames may flow.
  virtual void on_open(connection& c) = 0;
  /// A request, response, heartbeat or chunk frame arrived. Throwing protocol_error closes the
  /// connection with that reason.
  virtual void on_frame(connection& c, wire::frame&& f) = 0;
  /// Where the payload of a large frame with `header` should go, after its first `skip`
  /// bytes: a span of exactly payload_bytes - skip bytes that stays valid until on_frame or
  /// on_closed, or an empty span to receive it normally. Lets a pulled chunk land in its
  /// object's buffer without a copy.
  virtual std::span<std::byte> placement(const wire::frame_header& header, std::size_t& skip) {
    (void)header;
    skip = 0;
    return {};
  }
  /// The connection is closed (by either side, or after an error); called once.
  virtual void on_closed(connection& c, const std::string& reason) = 0;

 protected:
  ~connection_events() = default;
};

/// A framed, authenticated TCP connection.
class connection : public std::enable_shared_from_this<connection> {
 public:
  /// Connects to `host:port` and starts the handshake as the dialer.
  static std::shared_ptr<connection> dial(asio::io_context& io, connection_events& events,
                                          link_identity identity, std::string host,
                                          std::uint16_t port);
  /// Takes an accepted socket and starts the handshake as the listener.
  static std::shared_ptr<connection> accept(asio::io_context& io, tcp::socket socket,
                                            connection_events& events, link_identity identity);

  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Queues a frame of `type` and `request_id` whose payload is `prefix` followed by `body`'s
  /// bytes (kept alive until written). Thread safe. Frames queued before the handshake ends
  /// wait for it; frames sent after close are dropped. Throws protocol_error if the payload is
  /// over the maximum frame size.
  void send(wire::frame_type type, std::uint64_t request_id, std::string prefix,
            std::shared_ptr<detail::wire_value> body = {});
  /// Sends a goodbye carrying `reason` (after the frames already queued) and closes. Thread
  /// safe; does nothing if already closed.
  void close(std::string reason);
  /// Refuses this connection if it is still in its handshake: logged (within the refusal
  /// log's limit of ten lines a second) and the peer told why. Io thread.
  void turn_away(const std::string& reason);

  /// The peer's node id from its handshake ("" for a client without one).
  const std::string& peer_id() const noexcept { return peer_id_; }
  /// "peer-id (host:port)" for messages.
  std::string describe() const;
  /// True once the handshake succeeded and until the connection closes.
  bool is_open() const noexcept { return open_.load(std::memory_order_acquire); }
  /// True once it has closed (set before the owner's on_closed is called).
  bool has_closed() const noexcept { return closed_.load(std::memory_order_acquire); }
  /// Bytes written to and read from the socket.
  std::uint64_t bytes_sent() const noexcept { return sent_.load(std::memory_order_relaxed); }
  std::uint64_t bytes_received() const noexcept {
    return received_.load(std::memory_order_relaxed);
  }
  /// The local address of the socket (what this node's peers reach it by), once connected.
  std::string local_host() const;

  /// Connections refused in their handshake in this process so far, by cause.
  struct refusal_counts {
    std::uint64_t token = 0;     ///< A wrong or missing token (or cluster name).
    std::uint64_t tls = 0;       ///< A failed TLS handshake, or TLS meeting plain TCP.
    std::uint64_t protocol = 0;  ///< Anything else: bad frames, versions, deadlines.
  };
  /// The refusal counts so far (every connection of the process).
  static refusal_counts refusals() noexcept;

  /// Use dial() or accept().
  connection(asio::io_context& io, connection_events& events, link_identity identity,
             wire::handshake_role role);

 private:
  struct queued {
    std::array<std::byte, wire::header_size> header;
    std::string prefix;
    std::shared_ptr<detail::wire_value> body;
    std::size_t written = 0;  // bytes of it the sending thread already wrote
  };
  enum class stage { connecting, handshaking, open, closed };

  // Starts the handshake deadline, then TLS (when configured), then the token handshake.
  void start_handshake();
  void start_token_handshake();
  // Runs `f` with the stream frames travel on: the TLS stream, or the socket itself.
  template <class F>
  void on_stream(F&& f) {
    if (tls_)
      f(*tls_);
    else
      f(socket_);
  }
  // Why a read failed, for a person.
  std::string read_failure(const boost::system::error_code& ec);
  // True when the first bytes a plain connection received open a TLS record.
  bool peer_spoke_tls() const noexcept;
  void read_more();
  void on_bytes(std::size_t n);
  void on_handshake_frame(wire::frame&& f);
  // Reads the rest of a large frame (`have` payload bytes already in it) straight into place.
  void read_rest(std::shared_ptr<wire::frame> f, std::size_t have);
  void write_handshake(wire::handshake_frame frame, bool then_write_queue = false);
  void become_open();
  void start_write();
  // Writes as much of `q` as the socket takes now, from the calling thread, without blocking;
  // returns the bytes written. queue_mutex_ held, nothing queued or being written.
  std::size_t write_now(const queued& q);
  // Through TLS: copies runs of small buffers in buffers_ into tls_staging_, so that a batch
  // of frames becomes a few TLS records rather than three or more per frame.
  void coalesce_for_tls();
  void fail(const std::string& reason);
  // Logs the refusal (rate limited), tells the peer `goodbye` (the reason when empty) when it
  // can, and closes.
  void refuse(const std::string& reason, const std::string& goodbye = {});
  // Best effort, without blocking: a goodbye frame carrying `text`, on the raw socket or
  // through TLS.
  void write_goodbye_now(const std::string& text, bool through_tls);

  asio::io_context& io_;
  tcp::socket socket_;
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;  // over socket_, when TLS is on
  bool tls_up_ = false;                                 // the TLS handshake succeeded
  int handshake_writes_ = 0;                            // handshake frames being written
  std::array<std::uint8_t, 2> first_bytes_{};           // the first bytes read, to recognise TLS
  std::size_t first_count_ = 0;
  asio::steady_timer handshake_timer_;
  connection_events& events_;
  const link_identity identity_;
  const wire::handshake_role role_;
  stage stage_ = stage::connecting;
  std::string peer_id_;
  std::string peer_address_;
  std::optional<wire::handshake> handshake_;  // from start_handshake until open
  wire::frame_reader reader_;
  std::vector<std::byte> read_buffer_;

  std::mutex queue_mutex_;  // guards the six fields below
  std::vector<queued> queue_;
  bool writing_ = false;
  bool closing_ = false;
  std::string closing_reason_;
  int direct_fd_ = -1;  // the socket, for writes from other threads while open
  std::chrono::steady_clock::time_point last_send_{};

  std::vector<queued> in_flight_;  // io thread only
  std::vector<asio::const_buffer> buffers_;
  std::vector<std::byte> tls_staging_;  // io thread only: small pieces copied together
  std::atomic<bool> open_{false};
  std::atomic<bool> closed_{false};
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> received_{0};
};

}  // namespace weft::cluster
