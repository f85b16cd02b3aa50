// src/wire/handshake.hpp: HMAC-SHA256 proofs of the shared token.
#include "wire/handshake.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <string>

namespace {

std::string hex(const weft::wire::digest& d) {
  std::string out;
  char buf[3];
  for (std::byte b : d) {
    std::snprintf(buf, sizeof buf, "%02x", std::to_integer<unsigned>(b));
    out += buf;
  }
  return out;
}

std::span<const std::byte> bytes_of(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

}  // namespace

TEST_CASE("hmac_sha256 matches RFC 4231 test case 2") {
  const std::string key = "Jefe";
  const std::string data = "what do ya want for nothing?";
  CHECK(hex(weft::wire::hmac_sha256(bytes_of(key), bytes_of(data))) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("nonces are fresh") {
  CHECK(weft::wire::make_nonce() != weft::wire::make_nonce());
}

TEST_CASE("a proof depends on the token, the role, the cluster and both nonces") {
  using weft::wire::handshake_role;
  const auto a = weft::wire::make_nonce();
  const auto b = weft::wire::make_nonce();
  const auto proof = weft::wire::make_proof("s3cret", handshake_role::dialer, "prod", a, b);
  CHECK(weft::wire::same_proof(
      proof, weft::wire::make_proof("s3cret", handshake_role::dialer, "prod", a, b)));
  CHECK_FALSE(weft::wire::same_proof(
      proof, weft::wire::make_proof("s3cret!", handshake_role::dialer, "prod", a, b)));
  CHECK_FALSE(weft::wire::same_proof(
      proof, weft::wire::make_proof("s3cret", handshake_role::listener, "prod", a, b)));
  CHECK_FALSE(weft::wire::same_proof(
      proof, weft::wire::make_proof("s3cret", handshake_role::dialer, "test", a, b)));
  CHECK_FALSE(weft::wire::same_proof(
      proof, weft::wire::make_proof("s3cret", handshake_role::dialer, "prod", b, a)));
}
