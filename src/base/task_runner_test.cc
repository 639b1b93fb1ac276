#include "base/task_runner.h"

#include <gtest/gtest.h>

#include <atomic>
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

}  // namespace
}  // namespace inferd::base
