// libFuzzer harness: the frame reader fed a byte stream in pieces of any size. Half of the
// inputs have their frame checksums (and versions and types) set right first, so the fuzzer
// gets past the CRC to the lengths and the reassembly. Anything the reader does not refuse
// with weft::protocol_error must come out as frames of the lengths their headers announce, with
// every byte fed either in a frame taken out or still waiting in the reader.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "weft/errors.hpp"
#include "wire/frame.hpp"

namespace {

using weft::wire::frame_reader;
using weft::wire::header_size;

// Rewrites the header of every whole frame in `stream` with a valid version, a known type
// and the right checksum, keeping its length and request id.
void make_headers_valid(std::vector<std::byte>& stream) {
  std::size_t at = 0;
  while (stream.size() - at >= header_size) {
    std::uint32_t length = 0;
    std::memcpy(&length, stream.data() + at, 4);
    length %= 1024;  // keep frames small enough that several fit in one input
    std::uint64_t request = 0;
    std::memcpy(&request, stream.data() + at + 8, 8);
    const auto type =
        static_cast<weft::wire::frame_type>(1 + std::to_integer<unsigned>(stream[at + 6]) % 9);
    if (stream.size() - at - header_size < length) length = 0;
    const std::span<const std::byte> payload(stream.data() + at + header_size, length);
    const std::span<const std::byte> pieces[] = {payload};
    const auto header = weft::wire::encode_header(type, request, pieces);
    std::memcpy(stream.data() + at, header.data(), header_size);
    at += header_size + length;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const bool valid_headers = input.ConsumeBool();
  const auto max_payload = input.ConsumeIntegralInRange<std::uint32_t>(0, 4096);
  const auto large_at = input.ConsumeIntegralInRange<std::size_t>(1, 2048);
  const auto split_seed = input.ConsumeIntegral<std::uint32_t>();
  const auto rest = input.ConsumeRemainingBytes<std::uint8_t>();
  std::vector<std::byte> stream(rest.size());
  if (!rest.empty()) std::memcpy(stream.data(), rest.data(), rest.size());
  if (valid_headers) make_headers_valid(stream);

  frame_reader reader(max_payload);
  std::size_t fed = 0;
  std::size_t returned = 0;  // header and payload bytes of the frames taken out
  std::uint32_t split = split_seed;
  try {
    while (fed < stream.size()) {
      split = split * 1103515245u + 12345u;
      const std::size_t piece = std::min<std::size_t>(1 + (split >> 16) % 300, stream.size() - fed);
      reader.feed(std::span(stream.data() + fed, piece));
      fed += piece;
      if ((split & 7) == 0) {
        if (auto large = reader.take_large(large_at)) {
          // Complete it the way a connection does: the rest read straight into place.
          auto& [f, have] = *large;
          const std::size_t missing = f.payload.size() - have;
          const std::size_t available = std::min(missing, stream.size() - fed);
          std::memcpy(f.payload.data() + have, stream.data() + fed, available);
          fed += available;
          if (available < missing) return 0;  // the stream ended inside the frame
          frame_reader::check(f);
          returned += header_size + f.payload.size();
          continue;
        }
      }
      while (auto f = reader.next()) {
        if (f->payload.size() != f->header.payload_bytes) std::abort();
        if (f->header.payload_bytes > max_payload) std::abort();
        returned += header_size + f->payload.size();
      }
    }
    // Every byte fed is in a frame taken out or still waiting in the reader.
    if (returned + reader.pending_bytes() != fed) std::abort();
  } catch (const weft::protocol_error&) {
    // Refused: the connection would close.
  }
  return 0;
}
