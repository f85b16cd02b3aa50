// The timer thread behind timed waits inside tasks.

#include "timer.hpp"

#include <utility>
#include <vector>

namespace weft::detail {

void timer::at(clock::time_point deadline, std::function<void()> fn) {
  std::unique_lock lock(mutex_);
  if (stopping_) {
    lock.unlock();
    fn();
    return;
  }
  if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
  due_.emplace(deadline, std::move(fn));
  wake_.notify_one();
}

void timer::stop() {
  std::thread thread;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    thread = std::move(thread_);
    wake_.notify_one();
  }
  if (thread.joinable()) thread.join();
}

void timer::loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    std::vector<std::function<void()>> ready;
    auto now = clock::now();
    while (!due_.empty() && (stopping_ || due_.begin()->first <= now)) {
      ready.push_back(std::move(due_.begin()->second));
      due_.erase(due_.begin());
    }
    if (!ready.empty()) {
      lock.unlock();
      for (auto& fn : ready)
        fn();
      lock.lock();
      continue;
    }
    if (stopping_) return;
    if (due_.empty())
      wake_.wait(lock);
    else
      wake_.wait_until(lock, due_.begin()->first);
  }
}

}  // namespace weft::detail
