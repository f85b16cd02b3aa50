// The doctest runner shared by all test executables. Every test binary runs with HOME set to a
// fresh directory of its own (removed at the end), which its child processes inherit: the
// default token file (~/.weft/token, made by `weft start`) of whoever runs the suite never
// leaks into a test, and a test that wants one makes it there.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

int main(int argc, char** argv) {
  std::string home = (std::filesystem::temp_directory_path() / "weft-test-home-XXXXXX").string();
  const bool isolated = ::mkdtemp(home.data()) != nullptr;
  if (isolated) ::setenv("HOME", home.c_str(), 1);
  doctest::Context context(argc, argv);
  const int status = context.run();
  if (isolated) {
    std::error_code ignored;
    std::filesystem::remove_all(home, ignored);
  }
  return status;
}
