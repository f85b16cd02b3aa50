// HMAC-SHA256 proofs of the shared cluster token, with OpenSSL.

#include "handshake.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdint>
#include <vector>

#include <fmt/core.h>

#include "fields.hpp"
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
                  const nonce& dialer_nonce, const nonce& listener_nonce,
                  std::string_view signer_id) {
  std::vector<std::byte> message;
  append_field(message, bytes_of("weft handshake v2"));
  append_field(message, bytes_of(role == handshake_role::dialer ? "dialer" : "listener"));
  append_field(message, bytes_of(cluster_id));
  append_field(message, dialer_nonce);
  append_field(message, listener_nonce);
  append_field(message, bytes_of(signer_id));
  return hmac_sha256(bytes_of(token), message);
}

bool same_proof(const digest& a, const digest& b) noexcept {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

handshake::handshake(handshake_role role, handshake_identity identity, const nonce& mine)
    : role_(role), identity_(std::move(identity)), mine_(mine) {}

std::optional<handshake_frame> handshake::start() {
  if (role_ == handshake_role::listener) {
    step_ = step::hello;
    return std::nullopt;
  }
  handshake_frame hello{frame_type::hello, {}};
  field_writer out(hello.payload);
  out.text(identity_.cluster_name, "cluster name");
  out.raw(mine_);
  out.text(identity_.self_id, "node id");
  step_ = step::challenge;
  return hello;
}

void handshake::expect(frame_type got, frame_type wanted, const char* when) const {
  if (got != wanted) {
    throw protocol_error(fmt::format("expected a {} frame {}, got {}",
                                     type_name(static_cast<std::uint16_t>(wanted)), when,
                                     type_name(static_cast<std::uint16_t>(got))));
  }
}

digest handshake::proof_of(handshake_role who, std::string_view signer_id) const {
  const bool dialing = role_ == handshake_role::dialer;
  return make_proof(identity_.token, who, identity_.cluster_name, dialing ? mine_ : theirs_,
                    dialing ? theirs_ : mine_, signer_id);
}

handshake_frame handshake::on_hello(frame_type type, std::span<const std::byte> payload) {
  const std::string& cluster = identity_.cluster_name;
  expect(type, frame_type::hello, "to open the handshake");
  field_reader in(payload, "hello frame");
  const std::string their_cluster = in.text();
  theirs_ = in.raw<32>();
  peer_id_ = in.text();
  in.finish();
  if (their_cluster != cluster) {
    throw auth_error(
        fmt::format("the peer belongs to cluster '{}', this node to '{}'", their_cluster, cluster));
  }
  // Only a nonce: the listener proves nothing until the dialer has, so a client that knows no
  // token gets nothing to test guesses against offline.
  handshake_frame challenge{frame_type::challenge, {}};
  field_writer(challenge.payload).raw(mine_);
  step_ = step::proof;
  return challenge;
}

handshake_frame handshake::on_challenge(frame_type type, std::span<const std::byte> payload) {
  expect(type, frame_type::challenge, "after hello");
  field_reader in(payload, "challenge frame");
  theirs_ = in.raw<32>();
  in.finish();
  handshake_frame proof{frame_type::proof, {}};
  field_writer(proof.payload).raw(proof_of(handshake_role::dialer, identity_.self_id));
  step_ = step::welcome;
  return proof;
}

handshake_frame handshake::on_proof(frame_type type, std::span<const std::byte> payload) {
  expect(type, frame_type::proof, "after challenge");
  field_reader in(payload, "proof frame");
  const digest their_proof = in.raw<32>();
  in.finish();
  if (!same_proof(their_proof, proof_of(handshake_role::dialer, peer_id_))) {
    throw auth_error(
        "wrong token: the peer's proof does not match the cluster token (or its hello was "
        "altered on the way); check WEFT_TOKEN on both sides");
  }
  handshake_frame welcome{frame_type::welcome, {}};
  field_writer out(welcome.payload);
  out.text(identity_.self_id, "node id");
  out.raw(proof_of(handshake_role::listener, identity_.self_id));
  step_ = step::done;
  return welcome;
}

void handshake::on_welcome(frame_type type, std::span<const std::byte> payload) {
  expect(type, frame_type::welcome, "after proof");
  field_reader in(payload, "welcome frame");
  std::string id = in.text();
  const digest their_proof = in.raw<32>();
  in.finish();
  if (!same_proof(their_proof, proof_of(handshake_role::listener, id))) {
    throw auth_error(
        "the peer could not prove it knows the cluster token, or its welcome was altered on the "
        "way (check WEFT_TOKEN on both sides)");
  }
  if (peer_id_.empty()) peer_id_ = std::move(id);
  step_ = step::done;
}

std::optional<handshake_frame> handshake::on_frame(frame_type type,
                                                   std::span<const std::byte> payload) {
  switch (step_) {
    case step::hello:
      return on_hello(type, payload);
    case step::challenge:
      return on_challenge(type, payload);
    case step::proof:
      return on_proof(type, payload);
    case step::welcome:
      on_welcome(type, payload);
      return std::nullopt;
    case step::start:
    case step::done:
      break;
  }
  throw protocol_error("a handshake frame arrived outside the handshake");
}

}  // namespace weft::wire
