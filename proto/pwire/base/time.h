// Time as the protocol core sees it: a monotonic instant and a duration, passed in by the
// caller (the agent's event loop, or a test's virtual clock). The core never reads a clock.
#pragma once

#include <chrono>

namespace pwire::base {

using Duration = std::chrono::nanoseconds;
using Instant = std::chrono::time_point<std::chrono::steady_clock, Duration>;

// The instant the real monotonic clock reads now. Only event loops call this.
inline Instant MonotonicNow() {
  return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
}

// A clock as an interface, for code that must ask for the time itself (event loops, timers).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant Now() = 0;
};

class SystemClock final : public Clock {
 public:
  Instant Now() override { return MonotonicNow(); }
};

// A clock a test moves by hand.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Instant start = Instant{}) : now_(start) {}
  Instant Now() override { return now_; }
  void Advance(Duration d) { now_ += d; }
  void Set(Instant t) { now_ = t; }

 private:
  Instant now_;
};

}  // namespace pwire::base
