#include "batching/dynamic_batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "batching/caller_runs.h"

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

TEST(DynamicBatcherTest, CallerRunsQueuesWithoutAWorkerAndRunsOnTheCaller) {
  Doubler model;
  std::thread::id ran_on;
  RunBatchFn fn = [&model, &ran_on, inner = model.Fn()](std::vector<Tensor> in,
                                                        const std::vector<std::string>& o) {
    ran_on = std::this_thread::get_id();
    return inner(std::move(in), o);
  };
  auto batcher = DynamicBatcher::Create(Options(8), fn);
  ASSERT_TRUE(batcher.ok());
  ASSERT_TRUE((*batcher)->caller_runs());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // (the worker parks)
  std::promise<BatchResult> a, b, c;
  auto fa = a.get_future(), fb = b.get_future(), fc = c.get_future();
  ASSERT_TRUE((*batcher)->Submit(Request(1, 1, &a), /*caller_runs=*/true).ok());
  ASSERT_TRUE((*batcher)->Submit(Request(2, 2, &b), /*caller_runs=*/true).ok());
  ASSERT_TRUE((*batcher)->Submit(Request(1, 3, &c), /*caller_runs=*/true).ok());
  // No worker is woken for them: the caller runs the three as one batch. (A worker that
  // happens to be between batches may take them instead: the same batch, on its thread.)
  const size_t ran = (*batcher)->RunReady();
  if (ran == 1) {
    EXPECT_EQ(ran_on, std::this_thread::get_id());
  }
  auto ra = fa.get(), rb = fb.get(), rc = fc.get();
  EXPECT_EQ(model.batches.load(), 1);
  EXPECT_EQ(ra.batch_rows, 4);
  ASSERT_TRUE(rb.outputs.ok());
  EXPECT_EQ((*rb.outputs)[0].shape(), (tensor::Shape{2}));
  EXPECT_EQ((*rb.outputs)[0].data<float>()[1], 8.0f);
  EXPECT_EQ((*rc.outputs)[0].data<float>()[0], 12.0f);
  EXPECT_EQ((*batcher)->RunReady(), 0u);  // nothing left
}

TEST(DynamicBatcherTest, WithAQueueDelayCallersDoNotRun) {
  Doubler model;
  base::FakeClock clock;
  auto batcher =
      DynamicBatcher::Create(Options(8, std::chrono::microseconds(100), &clock), model.Fn());
  ASSERT_TRUE(batcher.ok());
  EXPECT_FALSE((*batcher)->caller_runs());
  std::promise<BatchResult> a;
  auto fa = a.get_future();
  // caller_runs is ignored: the workers keep the delay.
  ASSERT_TRUE((*batcher)->Submit(Request(1, 1, &a), /*caller_runs=*/true).ok());
  EXPECT_EQ((*batcher)->RunReady(), 0u);  // not due yet
  clock.Advance(std::chrono::microseconds(100));
  (*batcher)->Poke();
  EXPECT_EQ(fa.get().batch_rows, 1);
}

TEST(CallerRunsTest, ALoopThreadRunsWhatItQueuedWhenItFlushes) {
  Doubler model;
  auto created = DynamicBatcher::Create(Options(8), model.Fn());
  ASSERT_TRUE(created.ok());
  std::shared_ptr<DynamicBatcher> batcher = std::move(created).value();
  std::promise<BatchResult> outside;
  auto fo = outside.get_future();
  // A thread without a loop: not caller-runs.
  BatchRequest r = Request(1, 1, &outside);
  auto plain = CallerRuns::Submit(batcher, r);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(*plain);
  EXPECT_FALSE(CallerRuns::Active());
  ASSERT_TRUE(batcher->Submit(std::move(r)).ok());
  EXPECT_EQ(fo.get().batch_rows, 1);                           // a worker ran it
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // (and parks again)

  std::thread loop([&] {
    int scheduled = 0;
    CallerRuns::Install([&scheduled] { ++scheduled; });
    EXPECT_TRUE(CallerRuns::Active());
    std::promise<BatchResult> p[3];
    for (int i = 0; i < 3; ++i) {
      BatchRequest req = Request(1, static_cast<float>(i), &p[i]);
      auto queued = CallerRuns::Submit(batcher, req);
      ASSERT_TRUE(queued.ok());
      EXPECT_TRUE(*queued);
    }
    EXPECT_EQ(scheduled, 1);  // one flush for the pass
    CallerRuns::Flush();
    for (auto& one : p) EXPECT_EQ(one.get_future().get().batch_rows, 3);
    std::promise<BatchResult> q;
    BatchRequest next = Request(1, 5, &q);
    ASSERT_TRUE(CallerRuns::Submit(batcher, next).ok());
    EXPECT_EQ(scheduled, 2);  // a new pass, a new flush
    CallerRuns::Flush();
    EXPECT_EQ(q.get_future().get().batch_rows, 1);
  });
  loop.join();
}

}  // namespace
}  // namespace inferd::batching
