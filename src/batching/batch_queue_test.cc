#include "batching/batch_queue.h"

#include <gtest/gtest.h>

namespace inferd::batching {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using tensor::DataType;
using tensor::Tensor;

base::Clock::TimePoint At(int64_t us) { return base::Clock::TimePoint(microseconds(us)); }

// A request of `rows` rows of `features` FP32 values, tagged so that tests can tell which ran.
BatchRequest Request(int64_t rows, int64_t tag, int64_t features = 3) {
  BatchRequest r;
  Tensor t("x", DataType::kFp32, {rows, features});
  for (auto& v : t.data<float>()) v = static_cast<float>(tag);
  r.inputs.push_back(std::move(t));
  r.rows = rows;
  r.done = [](BatchResult) {};
  return r;
}

std::vector<int64_t> Tags(const std::vector<BatchRequest>& batch) {
  std::vector<int64_t> tags;
  for (const auto& r : batch) tags.push_back(static_cast<int64_t>(r.inputs[0].data<float>()[0]));
  return tags;
}

BatchQueue Queue(BatchQueueOptions o) {
  auto q = BatchQueue::Create(o);
  EXPECT_TRUE(q.ok()) << q.status().ToString();
  return std::move(q).value();
}

TEST(BatchQueueTest, WithoutADelayALoneRequestLeavesAtOnce) {
  BatchQueue q = Queue({.max_batch_size = 8});
  ASSERT_TRUE(q.Add(Request(1, 1), At(0)).ok());
  EXPECT_EQ(Tags(q.Take(At(0))), std::vector<int64_t>({1}));
  EXPECT_EQ(q.size(), 0u);
  EXPECT_FALSE(q.NextEvent().has_value());
}

TEST(BatchQueueTest, WaitsForTheDelayOrAFullBatch) {
  BatchQueue q = Queue({.max_batch_size = 4, .max_queue_delay = microseconds(100)});
  ASSERT_TRUE(q.Add(Request(1, 1), At(0)).ok());
  ASSERT_TRUE(q.Add(Request(2, 2), At(10)).ok());
  EXPECT_TRUE(q.Take(At(50)).empty());
  EXPECT_EQ(q.NextEvent(), At(100));
  EXPECT_EQ(Tags(q.Take(At(100))), std::vector<int64_t>({1, 2}));
  // Four rows leave at once, before the delay; a fifth row waits for the next batch.
  ASSERT_TRUE(q.Add(Request(3, 3), At(200)).ok());
  ASSERT_TRUE(q.Add(Request(2, 4), At(201)).ok());
  ASSERT_TRUE(q.Add(Request(1, 5), At(202)).ok());
  EXPECT_EQ(Tags(q.Take(At(202))), std::vector<int64_t>({3, 5}));
  EXPECT_TRUE(q.Take(At(250)).empty());
  EXPECT_EQ(Tags(q.Take(At(301))), std::vector<int64_t>({4}));
}

TEST(BatchQueueTest, APreferredSizeLeavesAtOnce) {
  BatchQueue q = Queue({.max_batch_size = 16,
                        .max_queue_delay = microseconds(1000),
                        .preferred_batch_sizes = {4, 8}});
  for (int64_t i = 0; i < 3; ++i) ASSERT_TRUE(q.Add(Request(2, i), At(i)).ok());
  // 2, 4, 6 rows: 4 is preferred, so the first two leave.
  EXPECT_EQ(Tags(q.Take(At(3))), std::vector<int64_t>({0, 1}));
  EXPECT_TRUE(q.Take(At(4)).empty());
  EXPECT_EQ(Tags(q.Take(At(1002))), std::vector<int64_t>({2}));
}

TEST(BatchQueueTest, OnlyCompatibleRequestsShareABatch) {
  BatchQueue q = Queue({.max_batch_size = 8});
  ASSERT_TRUE(q.Add(Request(1, 1, 3), At(0)).ok());
  ASSERT_TRUE(q.Add(Request(1, 2, 4), At(0)).ok());  // other feature count
  auto other_outputs = Request(1, 3, 3);
  other_outputs.outputs = {"margin"};
  ASSERT_TRUE(q.Add(std::move(other_outputs), At(0)).ok());
  ASSERT_TRUE(q.Add(Request(1, 4, 3), At(0)).ok());
  EXPECT_EQ(Tags(q.Take(At(0))), std::vector<int64_t>({1, 4}));
  EXPECT_EQ(Tags(q.Take(At(0))), std::vector<int64_t>({2}));
  EXPECT_EQ(Tags(q.Take(At(0))), std::vector<int64_t>({3}));
}

TEST(BatchQueueTest, UrgentLevelsGoFirst) {
  BatchQueue q = Queue({.max_batch_size = 2, .priority_levels = 3, .default_priority_level = 2});
  auto low = Request(1, 1);
  low.priority = 3;
  auto normal = Request(1, 2);  // priority 0: the default level, 2
  auto urgent = Request(1, 3);
  urgent.priority = 1;
  ASSERT_TRUE(q.Add(std::move(low), At(0)).ok());
  ASSERT_TRUE(q.Add(std::move(normal), At(1)).ok());
  ASSERT_TRUE(q.Add(std::move(urgent), At(2)).ok());
  EXPECT_EQ(Tags(q.Take(At(2))), std::vector<int64_t>({3, 2}));
  EXPECT_EQ(Tags(q.Take(At(2))), std::vector<int64_t>({1}));
  auto bad = Request(1, 4);
  bad.priority = 4;
  EXPECT_EQ(q.Add(std::move(bad), At(3)).code(), base::StatusCode::kInvalidArgument);
}

TEST(BatchQueueTest, TimeoutsOnlyShortenTheDefault) {
  BatchQueue q = Queue({.max_batch_size = 8,
                        .max_queue_delay = milliseconds(10),
                        .default_timeout = microseconds(500)});
  auto longer = Request(1, 1);
  longer.timeout = microseconds(5000);  // capped at the default, 500
  auto shorter = Request(1, 2);
  shorter.timeout = microseconds(100);
  ASSERT_TRUE(q.Add(std::move(longer), At(0)).ok());
  ASSERT_TRUE(q.Add(std::move(shorter), At(0)).ok());
  EXPECT_EQ(q.NextEvent(), At(100));
  EXPECT_TRUE(q.Expire(At(99)).empty());
  EXPECT_EQ(Tags(q.Expire(At(100))), std::vector<int64_t>({2}));
  EXPECT_EQ(Tags(q.Expire(At(500))), std::vector<int64_t>({1}));
  EXPECT_EQ(q.size(), 0u);
}

TEST(BatchQueueTest, LimitsAreEnforced) {
  BatchQueue q = Queue({.max_batch_size = 4, .max_queue_size = 2});
  EXPECT_EQ(q.Add(Request(5, 1), At(0)).code(), base::StatusCode::kInvalidArgument);
  ASSERT_TRUE(q.Add(Request(1, 1), At(0)).ok());
  ASSERT_TRUE(q.Add(Request(1, 2), At(0)).ok());
  const auto full = q.Add(Request(1, 3), At(0));
  EXPECT_EQ(full.code(), base::StatusCode::kResourceExhausted);
  EXPECT_NE(full.message().find("queue is full (2 requests)"), std::string::npos);
  EXPECT_FALSE(BatchQueue::Create({.max_batch_size = 0}).ok());
  EXPECT_FALSE(BatchQueue::Create({.max_batch_size = 4, .preferred_batch_sizes = {5}}).ok());
  EXPECT_FALSE(BatchQueue::Create({.max_batch_size = 4, .priority_levels = 2}).ok());
}

}  // namespace
}  // namespace inferd::batching
