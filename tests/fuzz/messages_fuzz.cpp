// libFuzzer harness: every message decoder of the wire (src/wire/messages.hpp) and the entry
// parsers of an argument list (weft/detail/wire_value.hpp), on arbitrary bytes. The first byte
// picks the decoder. A decoder either refuses with weft::protocol_error or returns a message
// that writes back to bytes which decode to a message writing the very same bytes (what is
// read is what is written, with nothing dropped or invented).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "weft/detail/wire_value.hpp"
#include "weft/errors.hpp"
#include "wire/messages.hpp"

namespace {

namespace wire = weft::wire;

std::span<const std::byte> bytes_of(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// Decodes an M from `bytes`; if it decodes, its encoding must decode and encode unchanged.
template <class M>
void round_trip(std::span<const std::byte> bytes) {
  M first;
  try {
    first = wire::from_bytes<M>(bytes, "fuzzed message");
  } catch (const weft::protocol_error&) {
    return;
  }
  const std::string once = wire::to_bytes(first);
  const std::string twice = wire::to_bytes(wire::from_bytes<M>(bytes_of(once), "re-encoded"));
  if (once != twice) std::abort();
}

// The same for an entry parser and its writer.
template <class Parse, class Write>
void entry_round_trip(std::span<const std::byte> bytes, Parse parse, Write write) {
  std::string once;
  try {
    once = write(parse(bytes));
  } catch (const weft::protocol_error&) {
    return;
  }
  if (write(parse(bytes_of(once))) != once) std::abort();
}

void split(std::span<const std::byte> bytes) {
  try {
    std::size_t total = 0;
    for (const auto& e : weft::detail::split_entries(bytes))
      total += 9 + e.bytes.size();
    if (total != bytes.size()) std::abort();  // every byte belongs to one entry
  } catch (const weft::protocol_error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto bytes = std::as_bytes(std::span(data + 1, size - 1));
  switch (data[0] % 23) {
    case 0:
      round_trip<wire::node_record>(bytes);
      break;
    case 1:
      round_trip<wire::actor_record>(bytes);
      break;
    case 2:
      round_trip<wire::cluster_view>(bytes);
      break;
    case 3:
      round_trip<wire::join_reply>(bytes);
      break;
    case 4:
      round_trip<wire::heartbeat>(bytes);
      break;
    case 5:
      round_trip<wire::task_header>(bytes);
      break;
    case 6:
      round_trip<wire::actor_call_header>(bytes);
      break;
    case 7:
      round_trip<wire::claim_reply>(bytes);
      break;
    case 8:
      round_trip<wire::spawn_order>(bytes);
      break;
    case 9:
      round_trip<wire::spawn_answer>(bytes);
      break;
    case 10:
      round_trip<wire::actor_end>(bytes);
      break;
    case 11:
      round_trip<wire::failure>(bytes);
      break;
    case 12:
      round_trip<wire::object_pull>(bytes);
      break;
    case 13:
      round_trip<wire::object_release>(bytes);
      break;
    case 14:
      round_trip<wire::object_dropped>(bytes);
      break;
    case 15:
      round_trip<wire::held_result>(bytes);
      break;
    case 16:
      round_trip<wire::ref_value_header>(bytes);
      break;
    case 17:
      round_trip<wire::handle_grant>(bytes);
      break;
    case 18:
      round_trip<wire::grant_attach>(bytes);
      break;
    case 19:
      round_trip<wire::actor_id_message>(bytes);
      break;
    case 20:
      split(bytes);
      break;
    case 21:
      entry_round_trip(bytes, weft::detail::parse_deferred, weft::detail::deferred_bytes);
      break;
    case 22:
      entry_round_trip(bytes, weft::detail::parse_actor, weft::detail::actor_bytes);
      break;
  }
  return 0;
}
