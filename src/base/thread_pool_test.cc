#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace inferd::base {
namespace {

TEST(ThreadPoolTest, RunsEveryChunkOnce) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(1000);
  pool.ParallelFor(1000, [&](int64_t i) { hits[static_cast<size_t>(i)].fetch_add(1); });
  for (const auto& h : hits) EXPECT_EQ(h.load(), 1);
}

TEST(ThreadPoolTest, ConcurrentCallersAndManySmallJobs) {
  ThreadPool pool(2);
  std::atomic<int64_t> sum{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int k = 0; k < 200; ++k) pool.ParallelFor(7, [&](int64_t i) { sum.fetch_add(i + 1); });
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(sum.load(), 4 * 200 * 28);
}

TEST(ThreadPoolTest, NoWorkersRunsInline) {
  ThreadPool pool(0);
  int64_t n = 0;
  pool.ParallelFor(5, [&](int64_t) { ++n; });
  EXPECT_EQ(n, 5);
}

}  // namespace
}  // namespace inferd::base
