#pragma once
// A fresh directory under the system's temporary directory for one test, removed (with what
// is in it) when the test ends, even when it fails.

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace weft_test {

/// Creates `<tmp>/<prefix>-XXXXXX`; removes it on destruction.
struct temp_dir {
  explicit temp_dir(const std::string& prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::filesystem::path path;  ///< The directory.
};

}  // namespace weft_test
