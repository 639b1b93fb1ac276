#include "base/ids.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "base/clock.h"

namespace inferd::base {
namespace {

TEST(IdsTest, HexAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = NewRequestId();
    ASSERT_EQ(id.size(), 32u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(IdsTest, SortByTime) {
  const std::string a = NewRequestId();
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  const std::string b = NewRequestId();
  EXPECT_LT(a.substr(0, 12), b.substr(0, 12));
  // The prefix is the wall clock in milliseconds.
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  EXPECT_NEAR(static_cast<double>(std::stoull(b.substr(0, 12), nullptr, 16)),
              static_cast<double>(ms), 5000);
}

TEST(ClockTest, FakeClockMovesOnlyWhenTold) {
  FakeClock clock;
  auto t0 = clock.Now();
  auto w0 = clock.WallNanos();
  EXPECT_EQ(clock.Now(), t0);
  clock.Advance(std::chrono::milliseconds(5));
  EXPECT_EQ(clock.Now() - t0, std::chrono::milliseconds(5));
  EXPECT_EQ(clock.WallNanos() - w0, 5'000'000);
  auto a = Clock::Real().Now();
  auto b = Clock::Real().Now();
  EXPECT_LE(a, b);
}

}  // namespace
}  // namespace inferd::base
