#include "rollout/auto_rollback.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "rollout/controller.h"
#include "store/sqlite_store.h"

namespace inferd::rollout {
namespace {

namespace fs = std::filesystem;
using monitoring::RequestCounts;
using namespace std::chrono_literals;

// `n` requests of `ms` each, `errors` of them failed.
RequestCounts::Snapshot Window(int n, double ms, int errors = 0) {
  RequestCounts c;
  for (int i = 0; i < n; ++i) c.Record(ms * 1e-3, i < errors);
  return c.Take();
}

std::optional<std::string> Judge(const std::string& signal, const RequestCounts::Snapshot& stable,
                                 const RequestCounts::Snapshot& canary,
                                 const AutoRollbackConfig& config = {}) {
  const std::string model = "m";
  return Signals().at(signal)->Worse({model, 1, 2, stable, canary, config});
}

TEST(SignalTest, ErrorRateNeedsTheMargin) {
  EXPECT_EQ(Judge("error_rate", Window(1000, 1, 5), Window(1000, 1, 10)), std::nullopt);  // +0.5%
  auto why = Judge("error_rate", Window(1000, 1, 5), Window(1000, 1, 60));                // +5.5%
  ASSERT_TRUE(why.has_value());
  EXPECT_EQ(*why, "error rate 6.00% (60 of 1000) vs stable's 0.50% (5 of 1000), margin 1.00%");
  // A better canary is never worse.
  EXPECT_EQ(Judge("error_rate", Window(1000, 1, 60), Window(1000, 1, 0)), std::nullopt);
}

TEST(SignalTest, P99LatencyNeedsTheRatioAndTheAbsoluteDifference) {
  // 2x slower but by less than 1 ms: noise at this scale.
  EXPECT_EQ(Judge("p99_latency", Window(500, 0.2), Window(500, 0.4)), std::nullopt);
  // 1.3x slower (margin 50%): not enough.
  EXPECT_EQ(Judge("p99_latency", Window(500, 10), Window(500, 13)), std::nullopt);
  auto why = Judge("p99_latency", Window(500, 2), Window(500, 8));
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("p99 latency 8."), std::string::npos) << *why;
  EXPECT_NE(why->find("vs stable's 2."), std::string::npos) << *why;
  AutoRollbackConfig strict;
  strict.p99_margin = 0.1;
  strict.p99_min_diff_ms = 0;
  EXPECT_TRUE(Judge("p99_latency", Window(500, 10), Window(500, 13), strict).has_value());
}

TEST(SignalTest, ConfigValidationNamesTheField) {
  AutoRollbackConfig c;
  EXPECT_TRUE(ValidateAutoRollback(c).ok());
  c.signals = {"speed"};
  EXPECT_EQ(ValidateAutoRollback(c).message(),
            "unknown signal 'speed' (accuracy, error_rate, f1_macro, log_loss, mae, p99_latency, "
            "r2, rmse, roc_auc)");
  c = {};
  c.window = 0s;
  EXPECT_EQ(ValidateAutoRollback(c).message(), "window_s must be >= 1");
  c = {};
  c.min_samples = 0;
  EXPECT_EQ(ValidateAutoRollback(c).message(), "min_samples must be >= 1");
  c = {};
  c.p99_margin = -1;
  EXPECT_NE(ValidateAutoRollback(c).message().find("must be numbers >= 0"), std::string::npos);
}

// The watcher against a real controller and SQLite store; the versions' counts are recorded here.
class AutoRollbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("inferd_auto_rollback_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    auto store = store::SqliteStore::Open(dir_.string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    ControllerOptions co;
    co.table = &table_;
    co.store = store_.get();
    co.ready_versions = [](const std::string&) -> base::StatusOr<std::vector<int64_t>> {
      return std::vector<int64_t>{1, 2};
    };
    co.config_policy = [](const std::string&) -> base::StatusOr<Policy> {
      Policy p;
      p.labels["stable"] = 1;
      return p;
    };
    co.clock = &clock_;
    controller_ = std::make_unique<Controller>(std::move(co));
    config_.enabled = true;
    config_.window = 10s;
    config_.min_samples = 50;
    AutoRollbackOptions o;
    o.controller = controller_.get();
    o.metrics = &metrics_;
    o.clock = &clock_;
    o.models = [] { return std::vector<std::string>{"m"}; };
    o.config = [this](const std::string&) { return config_; };
    o.counts = [this](const std::string&, int64_t v) -> std::optional<RequestCounts::Snapshot> {
      return (v == 1 ? stable_ : canary_).Take();
    };
    o.quality = [this](const std::string&, int64_t v, const std::string& metric,
                       int64_t) -> std::optional<std::pair<double, uint64_t>> {
      if (metric != "accuracy") return std::nullopt;
      return v == 1 ? stable_accuracy_ : canary_accuracy_;
    };
    watcher_ = std::make_unique<AutoRollback>(std::move(o));
  }
  void TearDown() override {
    watcher_.reset();
    controller_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  void Traffic(int n, int canary_errors) {
    for (int i = 0; i < n; ++i) {
      stable_.Record(1e-3, false);
      canary_.Record(1e-3, i < canary_errors);
    }
  }
  int64_t CanaryWeight() { return WeightOf(*controller_->EffectivePolicy("m"), 2); }

  fs::path dir_;
  base::FakeClock clock_;
  monitoring::MetricsRegistry metrics_;
  RolloutTable table_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<Controller> controller_;
  AutoRollbackConfig config_;
  RequestCounts stable_, canary_;
  std::optional<std::pair<double, uint64_t>> stable_accuracy_, canary_accuracy_;
  std::unique_ptr<AutoRollback> watcher_;
};

TEST_F(AutoRollbackTest, AFailingCanaryLosesItsWeightOnceThereAreEnoughSamples) {
  Traffic(500, 500);  // before the canary: not its window
  ASSERT_TRUE(controller_->SetCanary("m", 2, 20, "test").ok());
  EXPECT_TRUE(watcher_->Tick().empty());  // the window starts
  Traffic(40, 10);
  clock_.Advance(1s);
  EXPECT_TRUE(watcher_->Tick().empty());  // 40 < min_samples
  EXPECT_EQ(CanaryWeight(), 20);
  Traffic(40, 10);
  clock_.Advance(1s);
  EXPECT_EQ(watcher_->Tick(), std::vector<std::string>{"m"});  // 20 of 80 failed vs 0 of 80
  EXPECT_EQ(CanaryWeight(), 0);
  EXPECT_EQ(controller_->EffectivePolicy("m")->labels.at("canary"), 2);  // still labelled
  auto log = store_->AuditLog("m", 1);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].action, "auto_rollback");
  EXPECT_EQ((*log)[0].who, "auto-rollback");
  const auto detail = nlohmann::json::parse((*log)[0].detail);
  EXPECT_EQ(detail["signal"], "error_rate");
  EXPECT_EQ(detail["canary_requests"], 80);
  EXPECT_NE(metrics_.RenderPrometheus().find(
                "inferd_rollout_auto_rollbacks_total{model=\"m\",signal=\"error_rate\"} 1"),
            std::string::npos);
  // Nothing more to watch: the canary takes no traffic.
  Traffic(100, 100);
  clock_.Advance(1s);
  EXPECT_TRUE(watcher_->Tick().empty());
}

TEST_F(AutoRollbackTest, AHealthyCanaryStaysAndOldSamplesLeaveTheWindow) {
  ASSERT_TRUE(controller_->SetCanary("m", 2, 20, "test").ok());
  watcher_->Tick();
  Traffic(100, 30);  // a bad start...
  clock_.Advance(1s);
  config_.min_samples = 1000;  // (not judged yet)
  EXPECT_TRUE(watcher_->Tick().empty());
  clock_.Advance(11s);  // ... that the 10 s window forgets
  watcher_->Tick();
  config_.min_samples = 50;
  for (int i = 0; i < 5; ++i) {
    Traffic(100, 1);  // 1% vs 0%: within the margin
    clock_.Advance(1s);
    EXPECT_TRUE(watcher_->Tick().empty());
  }
  EXPECT_EQ(CanaryWeight(), 20);
}

TEST_F(AutoRollbackTest, ANewWeightStartsANewWindow) {
  ASSERT_TRUE(controller_->SetCanary("m", 2, 20, "test").ok());
  watcher_->Tick();
  Traffic(40, 40);
  clock_.Advance(1s);
  watcher_->Tick();
  ASSERT_TRUE(controller_->SetCanary("m", 2, 30, "test").ok());  // the operator changes it
  watcher_->Tick();
  Traffic(20, 0);
  clock_.Advance(1s);
  EXPECT_TRUE(watcher_->Tick().empty());  // 20 < 50 since the change: the 40 failures are gone
  Traffic(40, 0);
  clock_.Advance(1s);
  EXPECT_TRUE(watcher_->Tick().empty());
  EXPECT_EQ(CanaryWeight(), 30);
  config_.enabled = false;
  Traffic(100, 100);
  clock_.Advance(1s);
  EXPECT_TRUE(watcher_->Tick().empty());  // off: not watched
}

TEST_F(AutoRollbackTest, QualityFromFeedbackIsASignal) {
  config_.signals = {"accuracy"};
  config_.min_feedback = 50;
  ASSERT_TRUE(controller_->SetCanary("m", 2, 20, "test").ok());
  watcher_->Tick();
  Traffic(100, 0);  // no errors: only quality can tell
  clock_.Advance(1s);
  stable_accuracy_ = {{0.92, 400}};
  canary_accuracy_ = {{0.85, 30}};  // worse, but too few labels yet
  EXPECT_TRUE(watcher_->Tick().empty());
  canary_accuracy_ = {{0.91, 80}};  // within the margin (0.02)
  EXPECT_TRUE(watcher_->Tick().empty());
  canary_accuracy_ = {{0.85, 80}};
  EXPECT_EQ(watcher_->Tick(), std::vector<std::string>{"m"});
  EXPECT_EQ(CanaryWeight(), 0);
  auto log = store_->AuditLog("m", 1);
  const auto detail = nlohmann::json::parse((*log)[0].detail);
  EXPECT_EQ(detail["signal"], "accuracy");
  EXPECT_EQ(detail["reason"],
            "accuracy 0.8500 (80 labelled) vs stable's 0.9200 (400 labelled), margin 0.02");
}

}  // namespace
}  // namespace inferd::rollout
