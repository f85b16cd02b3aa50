#pragma once
// A minimal leveled logger on stderr. The level comes from WEFT_LOG (error, warn, info, debug;
// default warn) and is read once.

#include <fmt/core.h>

#include <string_view>
#include <utility>

namespace weft::detail {

/// Severity of a log line.
enum class log_level : int { error = 0, warn = 1, info = 2, debug = 3 };

/// True when lines of `level` are printed.
bool log_enabled(log_level level) noexcept;
/// Writes one line "weft <level>: <text>" to stderr.
void log_line(log_level level, std::string_view text) noexcept;

/// Formats and logs a line if `level` is enabled.
template <class... A>
void log(log_level level, fmt::format_string<A...> format, A&&... args) noexcept {
  if (!log_enabled(level)) return;
  try {
    log_line(level, fmt::format(format, std::forward<A>(args)...));
  } catch (...) {
  }
}

}  // namespace weft::detail
