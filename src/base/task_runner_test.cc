#include "base/task_runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

namespace inferd::base {
namespace {

TEST(TaskRunnerTest, RunsEveryTaskOnItsWorkersAndStopFinishesTheQueue) {
  std::atomic<int> ran{0};
  std::atomic<int> on_caller{0};
  const auto caller = std::this_thread::get_id();
  {
    TaskRunner runner(2, "test-runner");
    std::vector<std::thread> posters;
    for (int p = 0; p < 4; ++p) {
      posters.emplace_back([&] {
        for (int i = 0; i < 250; ++i) {
          runner.Post([&] {
            if (std::this_thread::get_id() == caller) ++on_caller;
            ++ran;
          });
        }
      });
    }
    for (auto& t : posters) t.join();
    runner.Stop();  // what was queued runs before it returns
    EXPECT_EQ(ran.load(), 1000);
    // After Stop, a task runs on the caller.
    runner.Post([&] {
      if (std::this_thread::get_id() == caller) ++on_caller;
      ++ran;
    });
    EXPECT_EQ(ran.load(), 1001);
    EXPECT_EQ(on_caller.load(), 1);
    runner.Stop();  // idempotent
  }
}

size_t Threads() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

TEST(TaskRunnerTest, StartsItsWorkersWithTheFirstTask) {
  const size_t before = Threads();
  TaskRunner runner(3, "test-lazy");
  EXPECT_EQ(Threads(), before);  // none yet
  std::atomic<bool> ran{false};
  runner.Post([&] { ran = true; });
  EXPECT_EQ(Threads(), before + 3);
  runner.Stop();
  EXPECT_TRUE(ran.load());
  EXPECT_EQ(Threads(), before);
}

}  // namespace
}  // namespace inferd::base
