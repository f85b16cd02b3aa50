// The stderr logger behind detail::log.

#include "log.hpp"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace weft::detail {
namespace {
log_level level_from_env() noexcept {
  const char* v = std::getenv("WEFT_LOG");
  if (v == nullptr) return log_level::warn;
  std::string s(v);
  if (s == "error") return log_level::error;
  if (s == "info") return log_level::info;
  if (s == "debug") return log_level::debug;
  if (s != "warn")
    std::fprintf(stderr, "weft warn: WEFT_LOG='%s' is not error|warn|info|debug; using warn\n", v);
  return log_level::warn;
}

const char* label(log_level level) noexcept {
  switch (level) {
    case log_level::error:
      return "error";
    case log_level::warn:
      return "warn";
    case log_level::info:
      return "info";
    case log_level::debug:
      return "debug";
  }
  return "?";
}
}  // namespace

bool log_enabled(log_level level) noexcept {
  static const log_level threshold = level_from_env();
  return static_cast<int>(level) <= static_cast<int>(threshold);
}

void log_line(log_level level, std::string_view text) noexcept {
  // Never destroyed: runtimes shut down by static destructors at exit still log.
  static std::mutex* const mutex = new std::mutex;
  std::lock_guard lock(*mutex);
  std::fprintf(stderr, "weft %s: %.*s\n", label(level), static_cast<int>(text.size()), text.data());
}

}  // namespace weft::detail
