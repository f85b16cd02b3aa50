#pragma once
// Small text helpers shared by the parsers of WEFT_* settings.

#include <charconv>
#include <string_view>

namespace weft::detail {

/// `s` without leading and trailing spaces and tabs.
inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

/// Parses a whole decimal integer (surrounding blanks allowed); false on anything else
/// (spaces inside, trailing text, overflow).
template <class Int>
bool parse_int(std::string_view text, Int& out) noexcept {
  text = trim(text);
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace weft::detail
