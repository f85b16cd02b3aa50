#pragma once
// What the node programs of the multi-process tests print for their test to check: one
// `key=value` line per fact (`say`), a `FAILED: ...` line per failed check (`expect`), and the
// count of failed checks at the end (`failures`), which is also their exit status.

#include <cstdio>
#include <string>

namespace weft_test {

/// The checks that failed so far in this process.
inline int failures = 0;

/// Counts a failed check and prints what it expected.
inline void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::printf("FAILED: %s\n", what.c_str());
    std::fflush(stdout);
    ++failures;
  }
}

/// Prints one line at once (the test reads the output while the process runs).
inline void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace weft_test
