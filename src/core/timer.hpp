#pragma once
// A runtime's timer thread: runs callbacks at deadlines. Used to wake tasks suspended in a
// timed wait (get_for, wait with a timeout), which TBB cannot do by itself. The thread starts on
// first use, so runtimes that never time a wait inside a task never start it.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace weft::detail {

/// Calls functions at or after their deadline, on one thread of its own.
class timer {
 public:
  using clock = std::chrono::steady_clock;

  timer() = default;
  ~timer() { stop(); }
  timer(const timer&) = delete;
  timer& operator=(const timer&) = delete;

  /// Runs `fn` on the timer thread once `deadline` has passed (or at stop(), whichever first).
  void at(clock::time_point deadline, std::function<void()> fn);
  /// Runs every pending callback now and joins the thread. Idempotent.
  void stop();

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::multimap<clock::time_point, std::function<void()>> due_;
  std::thread thread_;
  bool stopping_ = false;
};

}  // namespace weft::detail
