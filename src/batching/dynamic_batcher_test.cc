#include "batching/dynamic_batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace inferd::batching {
namespace {

using tensor::DataType;
using tensor::Tensor;

DynamicBatcherOptions Options(int64_t max_batch_size,
                              std::chrono::microseconds delay = std::chrono::microseconds(0),
                              const base::Clock* clock = &base::Clock::Real(), int instances = 1) {
  DynamicBatcherOptions o;
  o.queue.max_batch_size = max_batch_size;
  o.queue.max_queue_delay = delay;
  o.clock = clock;
  o.instances = instances;
  return o;
}

BatchRequest Request(int64_t rows, float value, std::promise<BatchResult>* done) {
  BatchRequest r;
  Tensor t("x", DataType::kFp32, {rows, 2});
  for (auto& v : t.data<float>()) v = value;
  r.inputs.push_back(std::move(t));
  r.rows = rows;
  r.done = [done](BatchResult result) { done->set_value(std::move(result)); };
  return r;
}

// y = 2x, summed over the two features, per row; also counts batches and the rows in each.
struct Doubler {
  std::atomic<int> batches{0};
  std::atomic<int64_t> max_rows{0};
  std::promise<void>* gate = nullptr;  // when set, the first batch waits for it
  RunBatchFn Fn() {
    return [this](std::vector<Tensor> in, const std::vector<std::string>&) -> Outputs {
      if (batches.fetch_add(1) == 0 && gate != nullptr) gate->get_future().wait();
      const int64_t rows = in[0].shape()[0];
      max_rows = std::max<int64_t>(max_rows.load(), rows);
      Tensor y("y", DataType::kFp32, {rows});
      for (int64_t i = 0; i < rows; ++i) {
        y.data<float>()[i] = 2 * (in[0].data<float>()[i * 2] + in[0].data<float>()[i * 2 + 1]);
      }
      std::vector<Tensor> out;
      out.push_back(std::move(y));
      return out;
    };
  }
};

TEST(DynamicBatcherTest, RequestsThatWaitAreMergedAndEachGetsItsRows) {
  Doubler model;
  std::promise<void> gate;
  model.gate = &gate;
  auto batcher = DynamicBatcher::Create(Options(16), model.Fn());
  ASSERT_TRUE(batcher.ok());
  // The first request holds the only worker; the next ones queue and leave as one batch.
  std::vector<std::promise<BatchResult>> done(5);
  ASSERT_TRUE((*batcher)->Submit(Request(1, 1.0f, &done[0])).ok());
  while ((*batcher)->queued() != 0) std::this_thread::yield();
  for (int i = 1; i < 5; ++i) {
    ASSERT_TRUE((*batcher)->Submit(Request(i, static_cast<float>(i + 1), &done[i])).ok());
  }
  gate.set_value();
  for (int i = 0; i < 5; ++i) {
    BatchResult r = done[static_cast<size_t>(i)].get_future().get();
    ASSERT_TRUE(r.outputs.ok()) << r.outputs.status().ToString();
    const Tensor& y = (*r.outputs)[0];
    ASSERT_EQ(y.shape(), tensor::Shape({std::max(i, 1)}));
    for (float v : y.data<float>()) EXPECT_EQ(v, 4.0f * static_cast<float>(i + 1));
    EXPECT_EQ(r.batch_rows, i == 0 ? 1 : 1 + 2 + 3 + 4);
  }
  EXPECT_EQ(model.batches.load(), 2);
  EXPECT_EQ(model.max_rows.load(), 10);
}

TEST(DynamicBatcherTest, AFakeClockDrivesTheDelay) {
  base::FakeClock clock;
  Doubler model;
  auto batcher = DynamicBatcher::Create(Options(8, std::chrono::seconds(3600), &clock), model.Fn());
  ASSERT_TRUE(batcher.ok());
  std::vector<std::promise<BatchResult>> done(2);
  ASSERT_TRUE((*batcher)->Submit(Request(1, 1.0f, &done[0])).ok());
  ASSERT_TRUE((*batcher)->Submit(Request(2, 2.0f, &done[1])).ok());
  EXPECT_EQ((*batcher)->queued(), 2u);  // an hour to go
  clock.Advance(std::chrono::seconds(3600));
  (*batcher)->Poke();
  auto first = done[0].get_future().get();
  auto second = done[1].get_future().get();
  EXPECT_EQ(first.batch_rows, 3);
  EXPECT_EQ(second.batch_rows, 3);
  EXPECT_EQ(first.queue, std::chrono::seconds(3600));
  EXPECT_EQ(model.batches.load(), 1);
}

TEST(DynamicBatcherTest, ErrorsReachEveryRequestAndUnloadingAnswersTheQueue) {
  auto failing = DynamicBatcher::Create(
      Options(4), [](std::vector<Tensor>, const std::vector<std::string>&) -> Outputs {
        return base::Internal("the model broke");
      });
  ASSERT_TRUE(failing.ok());
  std::promise<BatchResult> done;
  ASSERT_TRUE((*failing)->Submit(Request(1, 1.0f, &done)).ok());
  auto r = done.get_future().get();
  EXPECT_EQ(r.outputs.status().message(), "the model broke");
  // An output without the batch dimension cannot be split back.
  auto unbatchable = DynamicBatcher::Create(
      Options(4), [](std::vector<Tensor>, const std::vector<std::string>&) -> Outputs {
        std::vector<Tensor> out;
        out.emplace_back("shape", DataType::kInt64, tensor::Shape{2});
        return out;
      });
  ASSERT_TRUE(unbatchable.ok());
  std::promise<BatchResult> done2;
  ASSERT_TRUE((*unbatchable)->Submit(Request(3, 1.0f, &done2)).ok());
  EXPECT_NE(done2.get_future().get().outputs.status().message().find("has no batch dimension"),
            std::string::npos);

  base::FakeClock clock;
  Doubler model;
  auto batcher = DynamicBatcher::Create(Options(8, std::chrono::seconds(10), &clock), model.Fn());
  ASSERT_TRUE(batcher.ok());
  std::promise<BatchResult> waiting;
  ASSERT_TRUE((*batcher)->Submit(Request(1, 1.0f, &waiting)).ok());
  batcher->reset();  // unloads: the queued request is answered, not lost
  EXPECT_EQ(waiting.get_future().get().outputs.status().code(), base::StatusCode::kUnavailable);
  EXPECT_EQ(model.batches.load(), 0);
}

TEST(DynamicBatcherTest, ConcurrentClientsAllGetTheirOwnAnswers) {
  Doubler model;
  auto batcher = DynamicBatcher::Create(
      Options(32, std::chrono::microseconds(0), &base::Clock::Real(), 2), model.Fn());
  ASSERT_TRUE(batcher.ok());
  std::atomic<int> wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 200; ++i) {
        std::promise<BatchResult> done;
        const float value = static_cast<float>(c * 1000 + i);
        if (!(*batcher)->Submit(Request(1 + i % 3, value, &done)).ok()) {
          ++wrong;
          continue;
        }
        auto r = done.get_future().get();
        if (!r.outputs.ok() || (*r.outputs)[0].shape()[0] != 1 + i % 3) {
          ++wrong;
          continue;
        }
        for (float v : (*r.outputs)[0].data<float>()) wrong += v != 4 * value;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LT(model.batches.load(), 8 * 200);  // some requests were merged
}

}  // namespace
}  // namespace inferd::batching
