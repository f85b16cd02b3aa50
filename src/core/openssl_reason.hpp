#pragma once
// What OpenSSL said last, for an error message; clears its error queue.

#include <openssl/err.h>

#include <string>

namespace weft::detail {

/// The reason of OpenSSL's oldest queued error ("no reason given" when there is none), the
/// queue cleared after.
inline std::string openssl_reason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no reason given";
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : "OpenSSL error " + std::to_string(code);
}

}  // namespace weft::detail
