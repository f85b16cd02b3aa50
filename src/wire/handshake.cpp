// HMAC-SHA256 proofs of the shared cluster token, with OpenSSL.

#include "handshake.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdint>
#include <vector>

#include "weft/errors.hpp"

namespace weft::wire {
namespace {

// Appends a length-prefixed field, so that no two different inputs sign the same bytes.
void append_field(std::vector<std::byte>& out, std::span<const std::byte> field) {
  const auto n = static_cast<std::uint32_t>(field.size());
  for (int i = 0; i < 4; ++i)
    out.push_back(std::byte((n >> (8 * i)) & 0xFF));
  out.insert(out.end(), field.begin(), field.end());
}

std::span<const std::byte> bytes_of(std::string_view s) noexcept {
  return std::as_bytes(std::span(s.data(), s.size()));
}

}  // namespace

nonce make_nonce() {
  nonce n;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(n.data()), static_cast<int>(n.size())) != 1)
    throw error("the cluster handshake could not get random bytes from OpenSSL (RAND_bytes)");
  return n;
}

digest hmac_sha256(std::span<const std::byte> key, std::span<const std::byte> data) {
  digest out;
  unsigned int length = 0;
  const unsigned char* result =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           reinterpret_cast<unsigned char*>(out.data()), &length);
  if (result == nullptr || length != out.size())
    throw error("the cluster handshake could not compute an HMAC-SHA256 with OpenSSL");
  return out;
}

digest make_proof(std::string_view token, handshake_role role, std::string_view cluster_id,
                  const nonce& dialer_nonce, const nonce& listener_nonce) {
  std::vector<std::byte> message;
  append_field(message, bytes_of("weft handshake v1"));
  append_field(message, bytes_of(role == handshake_role::dialer ? "dialer" : "listener"));
  append_field(message, bytes_of(cluster_id));
  append_field(message, dialer_nonce);
  append_field(message, listener_nonce);
  return hmac_sha256(bytes_of(token), message);
}

bool same_proof(const digest& a, const digest& b) noexcept {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace weft::wire
