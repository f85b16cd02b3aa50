#pragma once
// The cluster's wire format (DESIGN.md section 5): every message is one frame, a fixed 24-byte
// header followed by the payload. The header carries the payload length, the protocol
// version, the message type, the request id it belongs to, and a CRC32C of the header (with
// the checksum field zeroed) and the payload. Integers are little-endian.
//
// frame_reader turns a byte stream, in pieces of any size, into checked frames and rejects
// anything malformed with weft::protocol_error naming the reason; the caller closes that
// connection. Nothing here does I/O.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/bulk_allocator.hpp"

namespace weft::wire {

/// The protocol version this build speaks; a peer with another version is refused.
inline constexpr std::uint16_t protocol_version = 4;  // 4: proofs sign the announced ids
/// Bytes of a frame header on the wire.
inline constexpr std::size_t header_size = 24;
/// Default largest payload accepted (larger objects travel in chunks).
inline constexpr std::uint32_t default_max_payload = 64u << 20;

/// What a frame carries. Values are part of the protocol: never renumber.
enum class frame_type : std::uint16_t {
  hello = 1,      ///< Handshake: version, cluster id, the sender's nonce.
  challenge = 2,  ///< Handshake: the receiver's nonce.
  proof = 3,      ///< Handshake: HMAC-SHA256 over both nonces and the cluster id.
  welcome = 4,    ///< Handshake accepted.
  heartbeat = 5,  ///< Liveness and load of a node.
  request = 6,    ///< A call (task, actor method, object pull) expecting a response.
  response = 7,   ///< The answer to the request with the same id.
  chunk = 8,      ///< A piece of a large object.
  goodbye = 9,    ///< The sender closes the connection on purpose.
};

/// True when `t` is a frame type this build knows.
bool is_known(std::uint16_t t) noexcept;
/// A name for messages ("hello", ..., or "unknown(42)").
std::string type_name(std::uint16_t t);

/// A decoded, checked frame header.
struct frame_header {
  std::uint32_t payload_bytes = 0;
  std::uint16_t version = protocol_version;
  frame_type type = frame_type::hello;
  std::uint64_t request_id = 0;
  std::uint32_t crc = 0;
};

/// The header bytes for a frame of `type` and `request_id` whose payload is the concatenation
/// of `payload` (written after the header without copying it: scatter-gather). Throws
/// weft::protocol_error if the payload exceeds `max_payload`.
std::array<std::byte, header_size> encode_header(
    frame_type type, std::uint64_t request_id, std::span<const std::span<const std::byte>> payload,
    std::uint32_t max_payload = default_max_payload);

/// An allocator that leaves new elements default-initialised (bytes: uninitialised). Frame
/// buffers are always overwritten (read from a socket, or copied into), so the memset a
/// std::vector would do first is pure cost on large payloads. Large buffers (pulled objects,
/// big frames) come from the bulk pool, already mapped when it has kept one.
template <class T>
struct uninitialized_allocator : bulk_allocator<T> {
  template <class U>
  struct rebind {
    using other = uninitialized_allocator<U>;
  };
  uninitialized_allocator() = default;
  template <class U>
  uninitialized_allocator(const uninitialized_allocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... A>
  void construct(U* p, A&&... a) {
    ::new (static_cast<void*>(p)) U(std::forward<A>(a)...);
  }
};

/// Bytes received from or bound for the wire.
using byte_buffer = std::vector<std::byte, uninitialized_allocator<std::byte>>;

/// One complete frame taken from a stream.
struct frame {
  frame_header header;
  byte_buffer payload;
  /// Bytes of the payload after `payload` that were read straight into a place the receiver
  /// chose (connection_events::placement); `payload` then holds only what precedes them.
  std::span<const std::byte> placed{};
};

/// Reassembles frames from a byte stream. Not thread safe: one per connection.
class frame_reader {
 public:
  explicit frame_reader(std::uint32_t max_payload = default_max_payload)
      : max_payload_(max_payload) {}

  /// Appends received bytes. Throws weft::protocol_error as soon as the bytes cannot start a
  /// valid frame (wrong version, unknown type, a length over the maximum); the connection must
  /// then be closed, the reader is unusable.
  void feed(std::span<const std::byte> bytes);
  /// The next complete frame, or nothing until more bytes arrive. Throws weft::protocol_error
  /// when a frame's checksum does not match, or when the header after it is invalid.
  std::optional<frame> next();
  /// For a large frame whose header has arrived but not all its payload: hands it over so the
  /// caller can read the rest straight into place instead of through this reader. Returns the
  /// frame (payload sized to the full length, the bytes received so far copied in) and how
  /// many payload bytes are already there; the reader then waits for the next frame. Nothing
  /// when no frame of at least `min_payload` bytes is pending.
  std::optional<std::pair<frame, std::size_t>> take_large(std::size_t min_payload);
  /// Throws weft::protocol_error unless `f`'s payload (`payload`, then `placed`) matches its
  /// header's checksum (for a frame completed after take_large).
  static void check(const frame& f);
  /// Changes the largest payload accepted from the next header on (a connection accepts only
  /// small frames until its peer has proved it knows the token).
  void set_max_payload(std::uint32_t max_payload) noexcept { max_payload_ = max_payload; }
  /// Bytes received but not yet returned as frames (a truncated frame at close).
  std::size_t pending_bytes() const noexcept { return buffer_.size() - consumed_; }

 private:
  void check_header();

  std::uint32_t max_payload_;
  byte_buffer buffer_;
  std::size_t consumed_ = 0;
  std::optional<frame_header> header_;  // of the frame being assembled, once checked
};

}  // namespace weft::wire
