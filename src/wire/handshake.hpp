#pragma once
// The cluster handshake (DESIGN.md section 5), without I/O: the dialer says hello (cluster
// name, its nonce, its id), the listener answers with a challenge (its nonce only), the dialer
// sends its proof, the listener checks it and welcomes it (its id and its own proof), and the
// dialer checks that. The side that accepts connections proves nothing before the other side
// has: a client that does not know the token collects no proof to test guesses against
// offline. (A dialer does prove itself to whatever it dials; it dials only the address it was
// configured with, and tokens are long enough not to be guessed.) Each side proves it knows
// the cluster's shared token with an HMAC-SHA256 over both sides' fresh nonces, the cluster id,
// its role and the id it announced, so the token never crosses the wire, an old proof cannot be
// replayed (new nonces each time), one side's proof cannot be reflected back as the other's
// (the role is part of what is signed), and nobody on the path can change who a peer says it
// is (tests/fuzz/handshake_fuzz.cpp plays that man in the middle). The connection
// (src/cluster/connection.cpp) feeds the frames in and writes the frames out.

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "frame.hpp"

namespace weft::wire {

/// A random value chosen by one side for one handshake.
using nonce = std::array<std::byte, 32>;
/// An HMAC-SHA256 digest.
using digest = std::array<std::byte, 32>;

/// Which side of a connection a proof is from.
enum class handshake_role { dialer, listener };

/// A fresh nonce from OpenSSL's random generator; throws weft::error if it fails.
nonce make_nonce();

/// HMAC-SHA256 of `data` keyed with `key` (OpenSSL); throws weft::error if OpenSSL fails.
digest hmac_sha256(std::span<const std::byte> key, std::span<const std::byte> data);

/// The proof `role` sends: HMAC-SHA256 keyed with the token over a domain label, the role,
/// the cluster id, the dialer's nonce, the listener's nonce and the node id the signer
/// announced (in its hello or welcome), so that nobody on the path can change who a proven
/// peer says it is.
digest make_proof(std::string_view token, handshake_role role, std::string_view cluster_id,
                  const nonce& dialer_nonce, const nonce& listener_nonce,
                  std::string_view signer_id);

/// Compares two proofs in constant time.
bool same_proof(const digest& a, const digest& b) noexcept;

/// Who this side is in a handshake.
struct handshake_identity {
  std::string cluster_name;
  std::string token;
  std::string self_id;  ///< This node's id ("" before it has one).
};

/// A frame the handshake sends.
struct handshake_frame {
  frame_type type = frame_type::hello;
  std::string payload;
};

/// One side's handshake, frame by frame. Not thread safe: one per connection.
class handshake {
 public:
  /// The handshake of `role`, with this side's fresh nonce `mine`.
  handshake(handshake_role role, handshake_identity identity, const nonce& mine);

  /// The frame that opens the handshake: the dialer's hello; nothing for the listener.
  std::optional<handshake_frame> start();
  /// Handles the peer's next handshake frame and returns the answer to send, if any. Throws
  /// weft::auth_error when the peer belongs to another cluster or cannot prove the token,
  /// weft::protocol_error for a frame out of order or malformed.
  std::optional<handshake_frame> on_frame(frame_type type, std::span<const std::byte> payload);
  /// True once the peer is proven: the listener after it answered the proof with welcome, the
  /// dialer after the welcome arrived.
  bool done() const noexcept { return step_ == step::done; }
  /// The peer's id, once its hello or welcome said it ("" until then).
  const std::string& peer_id() const noexcept { return peer_id_; }

 private:
  enum class step { start, hello, challenge, proof, welcome, done };
  void expect(frame_type got, frame_type wanted, const char* when) const;
  // The proof side `who`, announced as `signer_id`, makes over this handshake's nonces.
  digest proof_of(handshake_role who, std::string_view signer_id) const;
  // The steps: each checks the peer's frame and returns this side's answer.
  handshake_frame on_hello(frame_type type, std::span<const std::byte> payload);      // listener
  handshake_frame on_challenge(frame_type type, std::span<const std::byte> payload);  // dialer
  handshake_frame on_proof(frame_type type, std::span<const std::byte> payload);      // listener
  void on_welcome(frame_type type, std::span<const std::byte> payload);               // dialer

  handshake_role role_;
  handshake_identity identity_;
  nonce mine_;
  nonce theirs_{};
  step step_ = step::start;
  std::string peer_id_;
};

}  // namespace weft::wire
