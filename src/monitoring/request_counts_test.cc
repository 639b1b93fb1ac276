#include "monitoring/request_counts.h"

#include <gtest/gtest.h>

#include <cmath>

namespace inferd::monitoring {
namespace {

TEST(RequestCountsTest, QuantilesAreWithinTheBucketWidth) {
  RequestCounts c;
  // 1..1000 us: the p99 is 990 us, the p50 500 us.
  for (int us = 1; us <= 1000; ++us) c.Record(us * 1e-6, us % 100 == 0);
  const auto s = c.Take();
  EXPECT_EQ(s.requests, 1000u);
  EXPECT_EQ(s.errors, 10u);
  EXPECT_DOUBLE_EQ(s.ErrorRate(), 0.01);
  EXPECT_GE(s.Quantile(0.99), 990e-6);
  EXPECT_LE(s.Quantile(0.99), 990e-6 * 1.05 + 1e-12);
  EXPECT_GE(s.Quantile(0.5), 500e-6);
  EXPECT_LE(s.Quantile(0.5), 500e-6 * 1.05);
}

TEST(RequestCountsTest, SnapshotsSubtractToAWindow) {
  RequestCounts c;
  for (int i = 0; i < 100; ++i) c.Record(50e-3, true);  // slow and failing, before the window
  const auto before = c.Take();
  for (int i = 0; i < 300; ++i) c.Record(100e-6, false);
  const auto window = c.Take() - before;
  EXPECT_EQ(window.requests, 300u);
  EXPECT_EQ(window.errors, 0u);
  EXPECT_LE(window.Quantile(0.99), 105e-6);
  EXPECT_EQ((before - before).Quantile(0.99), 0);  // empty: no NaN
}

TEST(RequestCountsTest, ExtremesLandInTheEndBuckets) {
  EXPECT_EQ(RequestCounts::Bucket(0), 0);
  EXPECT_EQ(RequestCounts::Bucket(-1), 0);
  EXPECT_EQ(RequestCounts::Bucket(std::nan("")), 0);
  EXPECT_EQ(RequestCounts::Bucket(1e9), RequestCounts::kBuckets - 1);
  EXPECT_LT(RequestCounts::Bucket(1e-3), RequestCounts::Bucket(2e-3));
}

}  // namespace
}  // namespace inferd::monitoring
