// libFuzzer harness: the handshake state machine with the fuzzer as a man in the middle. An
// honest dialer and an honest listener (same cluster, same token) exchange frames through two
// queues; the input decides, frame by frame, to pass a frame on, flip one of its bytes, drop
// it, inject a made-up frame, or replay a frame recorded from an earlier handshake between the
// same two nodes. Whatever happens, each side either refuses with weft::auth_error or
// weft::protocol_error, or completes; and a side that completes must have been given exactly
// the frames the honest other side sent in this handshake (nothing forged, altered or replayed
// is ever accepted).

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "weft/errors.hpp"
#include "wire/handshake.hpp"

namespace {

using weft::wire::frame_type;
using weft::wire::handshake;
using weft::wire::handshake_frame;
using weft::wire::handshake_role;

bool same(const handshake_frame& a, const handshake_frame& b) {
  return a.type == b.type && a.payload == b.payload;
}

// A nonce that differs for every `seed` (real nonces are random: they never repeat).
weft::wire::nonce nonce_of(int seed) {
  weft::wire::nonce n{};
  for (std::size_t i = 0; i < n.size(); ++i)
    n[i] = std::byte((seed * 31 + i) & 0xFF);
  n[0] = std::byte(seed & 0xFF);
  n[1] = std::byte((seed >> 8) & 0xFF);
  return n;
}

const weft::wire::handshake_identity dialer_identity{"prod", "fuzz-token-0123456789abcdef", "w-1"};
const weft::wire::handshake_identity listener_identity{"prod", "fuzz-token-0123456789abcdef",
                                                       "head"};

// The frames of one honest handshake between the two nodes, under nonces that no handshake
// of the fuzzer's uses.
std::vector<handshake_frame> recorded_handshake() {
  handshake dialer(handshake_role::dialer, dialer_identity, nonce_of(1000));
  handshake listener(handshake_role::listener, listener_identity, nonce_of(1001));
  std::vector<handshake_frame> frames;
  listener.start();
  auto hello = *dialer.start();
  frames.push_back(hello);
  auto challenge = *listener.on_frame(hello.type, std::as_bytes(std::span(hello.payload)));
  frames.push_back(challenge);
  auto proof = *dialer.on_frame(challenge.type, std::as_bytes(std::span(challenge.payload)));
  frames.push_back(proof);
  auto welcome = *listener.on_frame(proof.type, std::as_bytes(std::span(proof.payload)));
  frames.push_back(welcome);
  return frames;
}

// One side and the frames waiting for it.
struct side {
  handshake machine;
  std::deque<handshake_frame> inbox;
  bool refused = false;
  bool all_genuine = true;              // every frame it accepted is one the peer sent
  std::vector<handshake_frame> sent{};  // what it sent in this handshake
};

// Delivers `f` to `to`; its answer (if any) goes to `peer`'s inbox.
void deliver(side& to, side& peer, const handshake_frame& f) {
  if (to.refused || to.machine.done()) return;
  const bool genuine = std::any_of(peer.sent.begin(), peer.sent.end(),
                                   [&](const handshake_frame& s) { return same(s, f); });
  try {
    auto answer = to.machine.on_frame(f.type, std::as_bytes(std::span(f.payload)));
    to.all_genuine = to.all_genuine && genuine;
    if (answer) {
      to.sent.push_back(*answer);
      peer.inbox.push_back(*answer);
    }
  } catch (const weft::auth_error&) {
    to.refused = true;
  } catch (const weft::protocol_error&) {
    to.refused = true;
  }
  // A side that completed was given nothing but the honest peer's own frames.
  if (to.machine.done() && !to.all_genuine) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  static const std::vector<handshake_frame> earlier = recorded_handshake();
  const int seed = input.ConsumeIntegralInRange<int>(0, 99);
  side dialer{handshake(handshake_role::dialer, dialer_identity, nonce_of(seed))};
  side listener{handshake(handshake_role::listener, listener_identity, nonce_of(seed + 100))};
  listener.machine.start();
  dialer.sent.push_back(*dialer.machine.start());
  listener.inbox.push_back(dialer.sent.front());

  for (int steps = 0; steps < 64 && input.remaining_bytes() > 0; ++steps) {
    const bool to_listener = input.ConsumeBool();
    side& to = to_listener ? listener : dialer;
    side& peer = to_listener ? dialer : listener;
    switch (input.ConsumeIntegralInRange<int>(0, 4)) {
      case 0:  // pass the next frame on as it is
        if (!to.inbox.empty()) {
          deliver(to, peer, to.inbox.front());
          to.inbox.pop_front();
        }
        break;
      case 1:  // flip one byte (or the type) of the next frame
        if (!to.inbox.empty()) {
          handshake_frame f = to.inbox.front();
          to.inbox.pop_front();
          const auto at = input.ConsumeIntegral<std::uint16_t>();
          const auto mask = static_cast<char>(input.ConsumeIntegralInRange<int>(1, 255));
          if (f.payload.empty() || at % 8 == 0)
            f.type = static_cast<frame_type>(1 + at % 9);
          else
            f.payload[at % f.payload.size()] ^= mask;
          deliver(to, peer, f);
        }
        break;
      case 2:  // drop the next frame
        if (!to.inbox.empty()) to.inbox.pop_front();
        break;
      case 3: {  // inject a made-up frame
        const handshake_frame f{static_cast<frame_type>(input.ConsumeIntegralInRange<int>(1, 9)),
                                input.ConsumeRandomLengthString(128)};
        deliver(to, peer, f);
        break;
      }
      case 4: {  // replay a frame of the earlier handshake
        const auto& old = earlier[input.ConsumeIntegralInRange<std::size_t>(0, earlier.size() - 1)];
        deliver(to, peer, old);
        break;
      }
    }
  }
  return 0;
}
