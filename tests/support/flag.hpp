#pragma once
// Test helper: holding a task until the test lets it go.

#include <atomic>
#include <chrono>
#include <thread>

namespace weft_test {

/// Sleeps in 1 ms steps until `flag` is true (used to hold a worker in a known state).
inline void wait_for_flag(const std::atomic<bool>& flag) {
  while (!flag.load())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

}  // namespace weft_test
