// Clock: the only source of time for code that decides by time (timeouts, polling, windows), so
// tests can drive time with FakeClock instead of sleeping.
// Thread-safety: all implementations are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace inferd::base {

class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  // Monotonic time, for durations and deadlines.
  virtual TimePoint Now() const = 0;
  // Wall time in nanoseconds since the Unix epoch, for records shown to people.
  virtual int64_t WallNanos() const = 0;

  // The process-wide real clock.
  static const Clock& Real();
};

class RealClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  int64_t WallNanos() const override;
};

// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t wall_start_nanos = 1'700'000'000'000'000'000)
      : wall0_(wall_start_nanos) {}
  TimePoint Now() const override { return TimePoint(Duration(offset_.load())); }
  int64_t WallNanos() const override { return wall0_ + offset_.load(); }
  void Advance(Duration d) { offset_.fetch_add(d.count()); }

 private:
  int64_t wall0_;
  std::atomic<int64_t> offset_{0};
};

}  // namespace inferd::base
