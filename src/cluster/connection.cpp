// The authenticated, framed TCP connection: handshake, batched gather writes, checked reads.

#include "connection.hpp"

#include <openssl/ssl.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>

#include <fmt/core.h>

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "core/log.hpp"
#include "tls_context.hpp"
#include "weft/errors.hpp"

namespace weft::cluster {
namespace {

using detail::log;
using detail::log_level;

// Largest handshake frame: a peer that has not proved anything yet gets no more memory.
constexpr std::uint32_t handshake_max_payload = 1024;
// The read buffer of a connection still in its handshake, and of a proven one: a flood of
// connections that never log in costs a few KiB each, not 256.
constexpr std::size_t handshake_read_chunk = 4 * 1024;
constexpr std::size_t read_chunk = 256 * 1024;
// Frames at least this large are read straight into their payload, not through the reader.
constexpr std::size_t direct_read_min = 1 << 20;
// A frame sent at least this long after the previous one on its connection is written by the
// sending thread itself; closer frames are batched by the io thread.
constexpr auto direct_write_gap = std::chrono::microseconds(50);
// Through TLS, pieces smaller than this are copied together before they are written: a TLS
// write takes one buffer at a time, as a record and a system call of its own.
constexpr std::size_t tls_coalesce_below = 16 * 1024;

// At most ten refusal lines a second: a flood of bad connections does not flood the log too.
// The count of those left out is logged with the next line that is.
class refusal_limiter {
 public:
  static constexpr std::uint64_t no = ~std::uint64_t{0};
  // `no` when this refusal is not to be logged; else how many were left out before it.
  std::uint64_t take_turn() {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now - window_start_ >= std::chrono::seconds(1)) {
      window_start_ = now;
      logged_ = 0;
    }
    if (logged_ >= per_second) {
      ++unlogged_;
      return no;
    }
    ++logged_;
    return std::exchange(unlogged_, 0);
  }

 private:
  static constexpr int per_second = 10;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point window_start_{};
  int logged_ = 0;
  std::uint64_t unlogged_ = 0;
};

refusal_limiter refusal_log;

// Refusals by cause, for the metrics endpoint. The cause is read from the reason's text,
// which names the token, TLS or a certificate whenever those are the cause.
std::atomic<std::uint64_t> refused_token{0};
std::atomic<std::uint64_t> refused_tls{0};
std::atomic<std::uint64_t> refused_protocol{0};

void count_refusal(const std::string& reason) noexcept {
  if (reason.find("token") != std::string::npos || reason.find("cluster name") != std::string::npos)
    refused_token.fetch_add(1, std::memory_order_relaxed);
  else if (reason.find("TLS") != std::string::npos ||
           reason.find("certificate") != std::string::npos)
    refused_tls.fetch_add(1, std::memory_order_relaxed);
  else
    refused_protocol.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

connection::connection(asio::io_context& io, connection_events& events, link_identity identity,
                       wire::handshake_role role)
    : io_(io),
      socket_(io),
      handshake_timer_(io),
      events_(events),
      identity_(std::move(identity)),
      role_(role),
      reader_(handshake_max_payload),
      read_buffer_(handshake_read_chunk) {
  if (identity_.tls) tls_.emplace(socket_, *identity_.tls);
}

std::shared_ptr<connection> connection::dial(asio::io_context& io, connection_events& events,
                                             link_identity identity, std::string host,
                                             std::uint16_t port) {
  auto c =
      std::make_shared<connection>(io, events, std::move(identity), wire::handshake_role::dialer);
  c->peer_address_ = fmt::format("{}:{}", host, port);
  asio::post(io, [c, host = std::move(host), port] {
    auto resolver = std::make_shared<tcp::resolver>(c->io_);
    resolver->async_resolve(
        host, std::to_string(port),
        [c, resolver](const boost::system::error_code& ec, tcp::resolver::results_type results) {
          if (ec) {
            c->fail(fmt::format("cannot resolve {}: {}", c->peer_address_, ec.message()));
            return;
          }
          asio::async_connect(
              c->socket_, results, [c](const boost::system::error_code& ec2, const tcp::endpoint&) {
                if (ec2) {
                  c->fail(fmt::format("cannot connect to {}: {}", c->peer_address_, ec2.message()));
                  return;
                }
                c->start_handshake();
              });
        });
  });
  return c;
}

std::shared_ptr<connection> connection::accept(asio::io_context& io, tcp::socket socket,
                                               connection_events& events, link_identity identity) {
  auto c =
      std::make_shared<connection>(io, events, std::move(identity), wire::handshake_role::listener);
  boost::system::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  c->peer_address_ = ec ? std::string("unknown")
                        : fmt::format("{}:{}", remote.address().to_string(), remote.port());
  c->socket_ = std::move(socket);
  asio::post(c->io_, [c] { c->start_handshake(); });
  return c;
}

std::string connection::describe() const {
  return peer_id_.empty() ? peer_address_ : fmt::format("{} ({})", peer_id_, peer_address_);
}

std::string connection::local_host() const {
  boost::system::error_code ec;
  auto local = socket_.local_endpoint(ec);
  return ec ? std::string() : local.address().to_string();
}

void connection::start_handshake() {
  if (stage_ == stage::closed) return;
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  stage_ = stage::handshaking;
  handshake_timer_.expires_after(identity_.handshake_timeout);
  handshake_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && self->stage_ != stage::open && self->stage_ != stage::closed) {
      self->refuse(fmt::format("the handshake did not finish within {} ms",
                               self->identity_.handshake_timeout.count()));
    }
  });
  if (!tls_) {
    start_token_handshake();
    return;
  }
  const auto side = role_ == wire::handshake_role::dialer ? asio::ssl::stream_base::client
                                                          : asio::ssl::stream_base::server;
  tls_->async_handshake(side, [self = shared_from_this()](const boost::system::error_code& ec) {
    if (self->stage_ == stage::closed) return;
    if (ec) {
      const std::string why =
          describe_tls_failure(ec.message(), SSL_get_verify_result(self->tls_->native_handle()));
      // A peer that does not speak TLS is most likely a weft node without TLS settings: it is
      // told so in its own framing.
      const bool plain_peer = why.find("does not speak TLS") != std::string::npos;
      self->refuse(why, plain_peer ? "this node accepts only TLS connections: give every node "
                                     "of the cluster the same WEFT_TLS_CERT, WEFT_TLS_KEY and "
                                     "WEFT_TLS_CA"
                                   : std::string());
      return;
    }
    self->tls_up_ = true;
    self->start_token_handshake();
  });
}

void connection::start_token_handshake() {
  handshake_.emplace(
      role_, wire::handshake_identity{identity_.cluster_name, identity_.token, identity_.self_id},
      wire::make_nonce());
  if (std::optional<wire::handshake_frame> hello = handshake_->start())
    write_handshake(std::move(*hello));
  read_more();
}

std::string connection::read_failure(const boost::system::error_code& ec) {
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
    return "the peer closed the connection";
  if (tls_ && ec.category() == asio::error::get_ssl_category())
    return describe_tls_failure(ec.message(), SSL_get_verify_result(tls_->native_handle()));
  return ec.message();
}

bool connection::peer_spoke_tls() const noexcept {
  // A TLS record starts with its type (0x16 handshake, 0x15 alert) and major version 3; a
  // weft frame starts with its payload length, which in a handshake is below 0x0300 + 256.
  return !tls_ && first_count_ == 2 && (first_bytes_[0] == 0x16 || first_bytes_[0] == 0x15) &&
         first_bytes_[1] == 0x03;
}

void connection::read_more() {
  if (stage_ == stage::open && read_buffer_.size() < read_chunk) read_buffer_.resize(read_chunk);
  on_stream([&](auto& stream) {
    stream.async_read_some(
        asio::buffer(read_buffer_),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
          if (self->stage_ == stage::closed) return;
          if (ec) {
            std::string why = self->read_failure(ec);
            const bool mid_frame = self->reader_.pending_bytes() > 0;
            if (mid_frame) {
              why += fmt::format(" in the middle of a frame ({} bytes of it received)",
                                 self->reader_.pending_bytes());
            }
            if (mid_frame || self->stage_ != stage::open)
              self->refuse(why);  // logged: the peer broke off a frame or the handshake
            else
              self->fail(why);
            return;
          }
          self->on_bytes(n);
        });
  });
}

void connection::on_bytes(std::size_t n) {
  received_.fetch_add(n, std::memory_order_relaxed);
  for (std::size_t i = 0; i < n && first_count_ < first_bytes_.size(); ++i)
    first_bytes_[first_count_++] = std::to_integer<std::uint8_t>(read_buffer_[i]);
  try {
    reader_.feed(std::span(read_buffer_.data(), n));
    while (stage_ != stage::closed) {
      std::optional<wire::frame> f = reader_.next();
      if (!f) break;
      if (f->header.type == wire::frame_type::goodbye) {
        std::string reason(reinterpret_cast<const char*>(f->payload.data()), f->payload.size());
        if (stage_ == stage::open)
          fail(fmt::format("the peer said goodbye: {}", reason));
        else
          refuse(fmt::format("the peer gave up the handshake: {}", reason));
        return;
      }
      if (stage_ == stage::open)
        events_.on_frame(*this, std::move(*f));
      else
        on_handshake_frame(std::move(*f));
    }
    if (stage_ == stage::open) {
      if (auto large = reader_.take_large(direct_read_min)) {
        read_rest(std::make_shared<wire::frame>(std::move(large->first)), large->second);
        return;
      }
    }
  } catch (const auth_error& e) {
    refuse(e.what());
    return;
  } catch (const protocol_error& e) {
    if (stage_ != stage::open && peer_spoke_tls()) {
      refuse(
          "the peer speaks TLS and this node does not: give every node of the cluster the same "
          "WEFT_TLS_CERT, WEFT_TLS_KEY and WEFT_TLS_CA");
      return;
    }
    refuse(e.what());
    return;
  } catch (const std::exception& e) {
    refuse(fmt::format("handling a frame failed: {}", e.what()));
    return;
  }
  if (stage_ != stage::closed) read_more();
}

void connection::read_rest(std::shared_ptr<wire::frame> f, std::size_t have) {
  std::size_t skip = 0;
  std::span<std::byte> place = events_.placement(f->header, skip);
  std::span<std::byte> rest(f->payload.data() + have, f->payload.size() - have);
  if (!place.empty() && skip <= have && place.size() == f->payload.size() - skip) {
    // The bytes after `skip` go to their final place: the part already here is copied over,
    // the rest is read straight into it.
    std::memcpy(place.data(), f->payload.data() + skip, have - skip);
    f->payload.resize(skip);
    f->placed = place;
    rest = place.subspan(have - skip);
  }
  on_stream([&](auto& stream) {
    asio::async_read(
        stream, asio::buffer(rest.data(), rest.size()),
        [self = shared_from_this(), f](const boost::system::error_code& ec, std::size_t n) {
          if (self->stage_ == stage::closed) return;
          self->received_.fetch_add(n, std::memory_order_relaxed);
          if (ec) {
            self->refuse(fmt::format("{} in the middle of a {}-byte frame", self->read_failure(ec),
                                     f->header.payload_bytes));
            return;
          }
          try {
            wire::frame_reader::check(*f);
            self->events_.on_frame(*self, std::move(*f));
          } catch (const std::exception& e) {
            self->refuse(e.what());
            return;
          }
          if (self->stage_ != stage::closed) self->read_more();
        });
  });
}

void connection::on_handshake_frame(wire::frame&& f) {
  std::optional<wire::handshake_frame> answer = handshake_->on_frame(f.header.type, f.payload);
  if (peer_id_.empty()) peer_id_ = handshake_->peer_id();
  if (!handshake_->done()) {
    if (answer) write_handshake(std::move(*answer));
    return;
  }
  if (answer) {
    // The listener's welcome: batched writes wait until it is written; frames may arrive at
    // once.
    {
      std::lock_guard lock(queue_mutex_);
      writing_ = true;
    }
    write_handshake(std::move(*answer), true);
  }
  handshake_.reset();
  become_open();
}

void connection::write_handshake(wire::handshake_frame frame, bool then_write_queue) {
  struct frame_bytes {
    std::array<std::byte, wire::header_size> header;
    std::string payload;
  };
  auto out = std::make_shared<frame_bytes>();
  out->payload = std::move(frame.payload);
  const std::span<const std::byte> pieces[] = {std::as_bytes(std::span(out->payload))};
  out->header = wire::encode_header(frame.type, 0, pieces, handshake_max_payload);
  std::array<asio::const_buffer, 2> buffers{asio::buffer(out->header), asio::buffer(out->payload)};
  // Handshake frames never overlap each other, and batched writes start only once the last
  // one is written.
  ++handshake_writes_;
  on_stream([&](auto& stream) {
    asio::async_write(stream, buffers,
                      [self = shared_from_this(), out, then_write_queue](
                          const boost::system::error_code& ec, std::size_t n) {
                        --self->handshake_writes_;
                        self->sent_.fetch_add(n, std::memory_order_relaxed);
                        if (self->stage_ == stage::closed) return;
                        if (ec) {
                          self->fail(fmt::format("writing the handshake failed: {}", ec.message()));
                          return;
                        }
                        if (then_write_queue) self->start_write();
                      });
  });
}

void connection::become_open() {
  handshake_timer_.cancel();
  reader_.set_max_payload(identity_.max_frame_bytes);
  stage_ = stage::open;
  open_.store(true, std::memory_order_release);
  events_.on_open(*this);
  if (stage_ != stage::open) return;  // the owner closed it at once
  std::lock_guard lock(queue_mutex_);
  // Through TLS every byte goes through the io thread's session.
  if (!closing_ && !tls_) direct_fd_ = socket_.native_handle();
  if (!writing_ && !queue_.empty()) {
    writing_ = true;
    asio::post(io_, [self = shared_from_this()] { self->start_write(); });
  }
}

void connection::send(wire::frame_type type, std::uint64_t request_id, std::string prefix,
                      std::shared_ptr<detail::wire_value> body) {
  queued q;
  q.prefix = std::move(prefix);
  q.body = std::move(body);
  std::vector<std::span<const std::byte>> pieces;
  pieces.reserve(1 + (q.body ? q.body->pieces().size() : 0));
  pieces.push_back(std::as_bytes(std::span(q.prefix.data(), q.prefix.size())));
  if (q.body) pieces.insert(pieces.end(), q.body->pieces().begin(), q.body->pieces().end());
  q.header = wire::encode_header(type, request_id, pieces, identity_.max_frame_bytes);
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(queue_mutex_);
  if (closing_) return;
  const bool quiet = now - last_send_ >= direct_write_gap;
  last_send_ = now;
  if (quiet && !writing_ && queue_.empty() && direct_fd_ >= 0) {
    // A lone frame with nothing ahead of it: written from this thread, which saves waking the
    // io thread (a remote round trip is then two thread hops shorter). Frames that follow
    // each other closely go through the io thread, which writes them in batches. What the
    // socket does not take now is queued for the io thread, as any frame.
    q.written = write_now(q);
    if (q.written == sizeof q.header + q.prefix.size() + (q.body ? q.body->size() : 0)) return;
  }
  queue_.push_back(std::move(q));
  if (!writing_ && open_.load(std::memory_order_acquire)) {
    writing_ = true;
    asio::post(io_, [self = shared_from_this()] { self->start_write(); });
  }
}

std::size_t connection::write_now(const queued& q) {
  constexpr std::size_t max_pieces = 64;
  std::array<iovec, max_pieces> pieces;
  std::size_t count = 0;
  auto add = [&](const void* data, std::size_t size) {
    if (size == 0) return true;
    if (count == max_pieces) return false;
    pieces[count++] = iovec{const_cast<void*>(data), size};
    return true;
  };
  add(q.header.data(), q.header.size());
  add(q.prefix.data(), q.prefix.size());
  if (q.body) {
    for (auto piece : q.body->pieces())
      if (!add(piece.data(), piece.size())) return 0;  // many pieces: the io thread writes it
  }
  msghdr message{};
  message.msg_iov = pieces.data();
  message.msg_iovlen = count;
  ssize_t n = 0;
  do {
    n = ::sendmsg(direct_fd_, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return 0;  // full, or an error the io thread's write then reports
  sent_.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
  return static_cast<std::size_t>(n);
}

void connection::turn_away(const std::string& reason) {
  if (stage_ != stage::open) refuse(reason);
}

void connection::close(std::string reason) {
  asio::post(io_, [self = shared_from_this(), reason = std::move(reason)]() mutable {
    if (self->stage_ == stage::closed) return;
    if (self->stage_ != stage::open) {
      self->fail(reason);
      return;
    }
    {
      std::lock_guard lock(self->queue_mutex_);
      if (self->closing_) return;
      queued bye;
      bye.prefix = reason.substr(0, 512);
      const std::span<const std::byte> pieces[] = {
          std::as_bytes(std::span(bye.prefix.data(), bye.prefix.size()))};
      bye.header = wire::encode_header(wire::frame_type::goodbye, 0, pieces);
      self->queue_.push_back(std::move(bye));
      self->closing_ = true;
      self->closing_reason_ = std::move(reason);
      if (self->writing_) return;  // the running write loop ends with the goodbye
      self->writing_ = true;
    }
    self->start_write();
  });
}

void connection::start_write() {
  if (stage_ == stage::closed) return;
  {
    std::lock_guard lock(queue_mutex_);
    if (queue_.empty()) {
      writing_ = false;
      if (closing_) {
        std::string reason = closing_reason_;
        // Unlocked below: fail() takes the lock to drop the queue.
        asio::post(io_, [self = shared_from_this(), reason] {
          boost::system::error_code ignored;
          self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
          self->fail(reason);
        });
      }
      return;
    }
    in_flight_.swap(queue_);
  }
  buffers_.clear();
  for (const queued& q : in_flight_) {
    buffers_.push_back(asio::buffer(q.header));
    if (!q.prefix.empty()) buffers_.push_back(asio::buffer(q.prefix));
    if (q.body) {
      for (auto piece : q.body->pieces())
        if (!piece.empty()) buffers_.push_back(asio::buffer(piece.data(), piece.size()));
    }
  }
  // Only the first frame can have been written in part, by its sending thread.
  for (std::size_t skip = in_flight_.front().written, i = 0; skip > 0; ++i) {
    const std::size_t take = std::min(skip, buffers_[i].size());
    buffers_[i] += take;
    skip -= take;
  }
  if (tls_) coalesce_for_tls();
  on_stream([&](auto& stream) {
    asio::async_write(
        stream, buffers_,
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
          self->sent_.fetch_add(n, std::memory_order_relaxed);
          self->in_flight_.clear();
          if (ec) {
            if (self->stage_ != stage::closed)
              self->fail(fmt::format("writing failed: {}", ec.message()));
            return;
          }
          self->start_write();
        });
  });
}

void connection::coalesce_for_tls() {
  // Reserved whole first: the buffers point into it.
  std::size_t small_bytes = 0;
  for (const asio::const_buffer& b : buffers_)
    if (b.size() < tls_coalesce_below) small_bytes += b.size();
  tls_staging_.clear();
  tls_staging_.reserve(small_bytes);
  std::vector<asio::const_buffer> out;
  out.reserve(buffers_.size());
  std::size_t run_start = 0;
  bool in_run = false;
  auto end_run = [&] {
    if (in_run) out.emplace_back(tls_staging_.data() + run_start, tls_staging_.size() - run_start);
    in_run = false;
  };
  for (const asio::const_buffer& b : buffers_) {
    if (b.size() >= tls_coalesce_below) {
      end_run();
      out.push_back(b);
      continue;
    }
    if (!in_run) run_start = tls_staging_.size();
    in_run = true;
    const auto* bytes = static_cast<const std::byte*>(b.data());
    tls_staging_.insert(tls_staging_.end(), bytes, bytes + b.size());
  }
  end_run();
  buffers_.swap(out);
}

connection::refusal_counts connection::refusals() noexcept {
  return {refused_token.load(std::memory_order_relaxed),
          refused_tls.load(std::memory_order_relaxed),
          refused_protocol.load(std::memory_order_relaxed)};
}

void connection::refuse(const std::string& reason, const std::string& goodbye) {
  if (stage_ == stage::closed) return;
  if (stage_ != stage::open) {
    count_refusal(reason);
    if (const std::uint64_t unlogged = refusal_log.take_turn(); unlogged != refusal_limiter::no) {
      if (unlogged > 0) {
        log(log_level::warn,
            "{} more connections were refused since the last one logged (not logged one by one)",
            unlogged);
      }
      log(log_level::warn, "refused connection {}: {}",
          role_ == wire::handshake_role::listener ? "from " + describe() : "to " + describe(),
          reason);
    }
    // Tell the peer why when it can hear it: on a plain connection, in a TLS session with no
    // handshake frame being written (one write at a time), or in plain framing to a peer
    // that does not speak TLS.
    const std::string& text = goodbye.empty() ? reason : goodbye;
    if (!tls_)
      write_goodbye_now(text, false);
    else if (tls_up_ && handshake_writes_ == 0)
      write_goodbye_now(text, true);
    else if (!goodbye.empty())
      write_goodbye_now(text, false);
  } else {
    log(log_level::warn, "closing connection with {}: {}", describe(), reason);
  }
  fail(reason);
}

void connection::write_goodbye_now(const std::string& text, bool through_tls) {
  // Cut to what a peer that has not proved anything accepts (a goodbye is only read by a
  // person). One buffer: a TLS write takes only the first of several.
  const std::string payload = text.substr(0, 512);
  const std::span<const std::byte> pieces[] = {std::as_bytes(std::span(payload))};
  const auto header = wire::encode_header(wire::frame_type::goodbye, 0, pieces);
  std::string bytes(reinterpret_cast<const char*>(header.data()), header.size());
  bytes += payload;
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
  if (through_tls)
    tls_->write_some(asio::buffer(bytes), ignored);
  else
    socket_.write_some(asio::buffer(bytes), ignored);
}

void connection::fail(const std::string& reason) {
  if (stage_ == stage::closed) return;
  stage_ = stage::closed;
  open_.store(false, std::memory_order_release);
  closed_.store(true, std::memory_order_release);
  handshake_timer_.cancel();
  // Dropped frames are destroyed after the lock is released: a frame's body may hold the last
  // reference to an object whose end sends a frame on this very connection (an object's
  // pullers are told it is gone), which would otherwise wait for the lock forever.
  std::vector<queued> dropped;
  {
    // Before the socket closes: no thread may write to its descriptor after.
    std::lock_guard lock(queue_mutex_);
    dropped.swap(queue_);
    closing_ = true;
    direct_fd_ = -1;
  }
  dropped.clear();
  boost::system::error_code ignored;
  socket_.close(ignored);
  events_.on_closed(*this, reason);
}

}  // namespace weft::cluster
