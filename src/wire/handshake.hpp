#pragma once
// The proof step of the cluster handshake (DESIGN.md section 5): each side proves it knows the
// cluster's shared token with an HMAC-SHA256 over both sides' fresh nonces, the cluster id and
// its role, so the token never crosses the wire, an old proof cannot be replayed (new nonces
// each time), and one side's proof cannot be reflected back as the other's (the role is
// part of what is signed).

#include <array>
#include <cstddef>
#include <span>
#include <string_view>

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
/// the cluster id, the dialer's nonce and the listener's nonce.
digest make_proof(std::string_view token, handshake_role role, std::string_view cluster_id,
                  const nonce& dialer_nonce, const nonce& listener_nonce);

/// Compares two proofs in constant time.
bool same_proof(const digest& a, const digest& b) noexcept;

}  // namespace weft::wire
