#include "base/clock.h"

namespace inferd::base {

int64_t RealClock::WallNanos() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const Clock& Clock::Real() {
  static const RealClock clock;
  return clock;
}

}  // namespace inferd::base
