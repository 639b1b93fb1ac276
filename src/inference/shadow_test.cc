#include "inference/shadow.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace inferd::inference {
namespace {

using tensor::DataType;
using tensor::Tensor;

// A one-row request whose input is `x`.
InferRequest Row(float x) {
  InferRequest r;
  r.model = "m";
  Tensor t("input", DataType::kFp32, {1, 1});
  t.data<float>()[0] = x;
  r.inputs.push_back(std::move(t));
  return r;
}

// An answer whose `label` output is `y`, one element per row.
InferResponse Answer(const std::vector<float>& y) {
  InferResponse r;
  r.model = "m";
  Tensor t("label", DataType::kFp32, {static_cast<int64_t>(y.size())});
  for (size_t i = 0; i < y.size(); ++i) t.data<float>()[i] = y[i];
  r.outputs.push_back(std::move(t));
  return r;
}

// The shadow "model": label = 2x per row; refuses any batch holding a negative input, and waits
// while `hold` is set.
class ShadowModel {
 public:
  ShadowRunner::ResolveFn Resolve() {
    return [this](const std::string& model,
                  int64_t version) -> base::StatusOr<lifecycle::ModelHandle> {
      if (version != 2) return base::NotFound("no version " + std::to_string(version));
      lifecycle::ModelHandle h;
      h.name = model;
      h.version = version;
      auto cfg = std::make_shared<config::ModelConfig>();
      cfg->max_batch_size = 64;
      h.config = cfg;
      return h;
    };
  }
  ShadowRunner::RunFn Run() {
    return [this](InferRequest request,
                  const lifecycle::ModelHandle&) -> base::StatusOr<InferResponse> {
      {
        std::unique_lock<std::mutex> lock(mu);
        running = true;
        cv.notify_all();
        cv.wait(lock, [this] { return !hold; });
      }
      const Tensor& in = request.inputs.at(0);
      batch_rows.push_back(in.shape()[0]);
      std::vector<float> y;
      for (float x : in.data<float>()) {
        if (x < 0) return base::InvalidArgument("negative input");
        y.push_back(2 * x);
      }
      return Answer(y);
    };
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu);
    hold = false;
    cv.notify_all();
  }
  void WaitRunning() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [this] { return running; });
  }

  std::mutex mu;
  std::condition_variable cv;
  bool hold = false, running = false;
  std::vector<int64_t> batch_rows;  // written by the shadow thread only
};

// Waits until `n` pairs of `model` are compared.
ShadowStats WaitPairs(ShadowRunner& runner, uint64_t n) {
  for (int i = 0; i < 2000; ++i) {
    auto s = runner.Stats("m");
    if (s.pairs >= n) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return runner.Stats("m");
}

TEST(ShadowRunnerTest, BatchesQueuedRequestsAndCountsAgreement) {
  monitoring::MetricsRegistry metrics;
  ShadowModel model;
  model.hold = true;  // everything is queued before the first run
  ShadowRunner runner(&metrics, &base::Clock::Real(), model.Resolve(), model.Run());
  std::vector<std::shared_ptr<ShadowPair>> pairs;
  for (int i = 0; i < 300; ++i) {
    auto pair = runner.Start("m", 2, Row(static_cast<float>(i)));
    ASSERT_NE(pair, nullptr);
    // The primary agrees on even rows and answers 2x + 1 on odd ones.
    pair->Primary(Answer({static_cast<float>(2 * i + (i % 2))}));
    pairs.push_back(std::move(pair));
  }
  model.Release();
  const ShadowStats s = WaitPairs(runner, 300);
  EXPECT_EQ(s.pairs, 300u);
  EXPECT_EQ(s.agree, 150u);
  EXPECT_EQ(s.disagree, 150u);
  EXPECT_EQ(s.shadow_errors, 0u);
  EXPECT_EQ(s.dropped, 0u);
  // Run in batches of at most max_batch_size rows, not one by one.
  int64_t rows = 0;
  for (int64_t b : model.batch_rows) {
    EXPECT_LE(b, 64);
    rows += b;
  }
  EXPECT_EQ(rows, 300);
  EXPECT_LT(model.batch_rows.size(), 300u / 2);
  const std::string text = metrics.RenderPrometheus();
  EXPECT_NE(text.find("inferd_shadow_requests_total{model=\"m\",outcome=\"agree\"} 150"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("inferd_shadow_requests_total{model=\"m\",outcome=\"disagree\"} 150"),
            std::string::npos);
}

TEST(ShadowRunnerTest, ABlockedShadowNeverHoldsThePrimaryAndDropsWhatDoesNotFit) {
  monitoring::MetricsRegistry metrics;
  ShadowModel model;
  model.hold = true;
  ShadowRunner runner(&metrics, &base::Clock::Real(), model.Resolve(), model.Run());
  // The first request reaches the (held) shadow model; the thread is stuck from then on.
  auto first = runner.Start("m", 2, Row(1));
  ASSERT_NE(first, nullptr);
  first->Primary(Answer({2}));
  model.WaitRunning();
  int started = 0, dropped = 0;
  std::vector<std::shared_ptr<ShadowPair>> pairs;
  for (int i = 0; i < 3000; ++i) {
    auto pair = runner.Start("m", 2, Row(1));
    if (pair == nullptr) {
      ++dropped;
      continue;
    }
    ++started;
    pair->Primary(Answer({2}));  // returns at once: the shadow has not answered
    pairs.push_back(std::move(pair));
  }
  EXPECT_GT(dropped, 0);  // the queue is bounded
  EXPECT_EQ(runner.Stats("m").dropped, static_cast<uint64_t>(dropped));
  EXPECT_EQ(runner.Stats("m").pairs, 0u);
  model.Release();
  const ShadowStats s = WaitPairs(runner, started + 1);
  EXPECT_EQ(s.pairs, static_cast<uint64_t>(started + 1));
  EXPECT_EQ(s.agree, s.pairs);
}

TEST(ShadowRunnerTest, ShadowErrorsAreCountedPerRequest) {
  monitoring::MetricsRegistry metrics;
  ShadowModel model;
  model.hold = true;
  ShadowRunner runner(&metrics, &base::Clock::Real(), model.Resolve(), model.Run());
  std::vector<std::shared_ptr<ShadowPair>> pairs;
  for (int i = 0; i < 10; ++i) {
    // Row 3 makes the merged batch fail: it is rerun request by request, so only row 3 errs.
    auto pair = runner.Start("m", 2, Row(i == 3 ? -1.0f : 1.0f));
    ASSERT_NE(pair, nullptr);
    pairs.push_back(std::move(pair));
  }
  // A shadow version that is gone errs too, and a primary error is counted as such.
  auto gone = runner.Start("m", 9, Row(1));
  model.Release();
  for (auto& p : pairs) p->Primary(Answer({2}));
  gone->Primary(Answer({2}));
  ShadowStats s = WaitPairs(runner, 11);
  EXPECT_EQ(s.pairs, 11u);
  EXPECT_EQ(s.agree, 9u);
  EXPECT_EQ(s.shadow_errors, 2u);
  auto failed = runner.Start("m", 2, Row(1));
  failed->Primary(base::Internal("primary failed"));
  s = WaitPairs(runner, 12);
  EXPECT_EQ(s.pairs, 12u);
  EXPECT_EQ(s.agree, 9u);
  EXPECT_NE(metrics.RenderPrometheus().find(
                "inferd_shadow_requests_total{model=\"m\",outcome=\"primary_error\"} 1"),
            std::string::npos);
}

TEST(ShadowRunnerTest, ScoresWithoutALabelAgreeWithinTheTolerance) {
  monitoring::MetricsRegistry metrics;
  ShadowModel model;
  ShadowRunner runner(
      &metrics, &base::Clock::Real(), model.Resolve(),
      [](InferRequest request, const lifecycle::ModelHandle&) -> base::StatusOr<InferResponse> {
        InferResponse r;
        Tensor y("y", DataType::kFp32, {1});
        y.data<float>()[0] = request.inputs[0].data<float>()[0];
        r.outputs.push_back(std::move(y));
        return r;
      });
  auto primary = [](float v) {
    InferResponse r;
    Tensor y("y", DataType::kFp32, {1});
    y.data<float>()[0] = v;
    r.outputs.push_back(std::move(y));
    return r;
  };
  std::vector<std::shared_ptr<ShadowPair>> pairs;
  for (float off : {0.0f, 0.05f, 0.25f}) {
    auto pair = runner.Start("m", 2, Row(1.0f), 0.1);
    ASSERT_NE(pair, nullptr);
    pair->Primary(primary(1.0f + off));
    pairs.push_back(std::move(pair));
  }
  const ShadowStats s = WaitPairs(runner, 3);
  EXPECT_EQ(s.agree, 2u);
  EXPECT_EQ(s.disagree, 1u);
  EXPECT_EQ(s.scored, 3u);
  EXPECT_NEAR(s.abs_diff_max, 0.25, 1e-6);
  EXPECT_NEAR(s.abs_diff_sum, 0.30, 1e-6);
}

}  // namespace
}  // namespace inferd::inference
