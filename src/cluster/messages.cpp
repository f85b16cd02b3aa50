// Errors for cluster messages that do not decode.

#include "messages.hpp"

#include <fmt/core.h>

#include "weft/errors.hpp"

namespace weft::cluster {

void throw_undecodable(const char* what, const char* why) {
  throw protocol_error(fmt::format("a {} does not decode: {}", what, why));
}

}  // namespace weft::cluster
