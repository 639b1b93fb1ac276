#include "monitoring/model_monitor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "monitoring/quality.h"
#include "store/sqlite_store.h"

namespace inferd::monitoring {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using tensor::DataType;
using tensor::Tensor;

class ModelMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("inferd_monitor_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    store_ = std::move(store::SqliteStore::Open(dir_)).value();
    metrics_ = std::make_unique<MonitorMetrics>(&registry_);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  std::unique_ptr<ModelMonitor> Monitor(OutputRoles roles, config::MonitoringConfig config = {}) {
    config.enabled = true;
    ModelMonitorOptions o;
    o.model = "m";
    o.config = config;
    o.roles = roles;
    o.store = store_.get();
    o.metrics = metrics_.get();
    o.clock = &clock_;
    return std::make_unique<ModelMonitor>(o);
  }
  static OutputRoles Binary() { return {2, "label", "probabilities", ""}; }
  // A one-row binary answer with P(class 1) = p.
  static std::vector<Tensor> BinaryAnswer(double p) {
    std::vector<Tensor> out;
    Tensor probs("probabilities", DataType::kFp32, {1, 2});
    probs.data<float>()[0] = static_cast<float>(1 - p);
    probs.data<float>()[1] = static_cast<float>(p);
    Tensor label("label", DataType::kInt64, {1});
    label.data<int64_t>()[0] = p > 0.5;
    out.push_back(std::move(probs));
    out.push_back(std::move(label));
    return out;
  }
  static std::vector<Tensor> Input(double x) {
    std::vector<Tensor> in;
    Tensor t("input", DataType::kFp32, {1, 2});
    t.data<float>()[0] = static_cast<float>(x);
    t.data<float>()[1] = 1;
    in.push_back(std::move(t));
    return in;
  }

  fs::path dir_;
  base::FakeClock clock_;
  MetricsRegistry registry_;
  std::unique_ptr<MonitorMetrics> metrics_;
  std::unique_ptr<store::SqliteStore> store_;
};

TEST_F(ModelMonitorTest, FeedbackJoinsRecordsIntoQualityThatMatchesTheDirectComputation) {
  auto monitor = Monitor(Binary());
  ClassificationCounts direct(2);
  json feedback = json::array();
  for (int i = 0; i < 200; ++i) {
    const double p = (i % 100 + 0.5) / 100;  // float-exact enough: bins of 1/1000
    const auto answer = BinaryAnswer(p);
    monitor->Observe(1, "r" + std::to_string(i), Input(p), answer);
    const int truth = (i * 7) % 3 == 0;
    const auto probs = answer[0].data<float>();
    direct.Add(truth, static_cast<int>(answer[1].data<int64_t>()[0]),
               std::vector<double>(probs.begin(), probs.end()));
    feedback.push_back({{"id", "r" + std::to_string(i)}, {"label", truth}});
  }
  // (No Flush: feedback writes what is queued first.)
  auto [status, body] = monitor->Feedback(feedback.dump());
  ASSERT_EQ(status, 200) << body;
  EXPECT_EQ(json::parse(body)["joined"], 200);
  const json report = json::parse(monitor->Report());
  const json& q = report["windows"][0]["quality"]["1"];
  const auto want = ComputeClassification(direct);
  EXPECT_EQ(q["count"], 200);
  EXPECT_DOUBLE_EQ(q["accuracy"].get<double>(), want.accuracy);
  EXPECT_DOUBLE_EQ(q["f1_macro"].get<double>(), want.macro.f1);
  EXPECT_DOUBLE_EQ(q["roc_auc"].get<double>(), *want.roc_auc);
  // (Records keep FP32 outputs in their shortest float form: read back as doubles they differ from
  // the floats by < 1e-7 relative.)
  EXPECT_NEAR(q["log_loss"].get<double>(), *want.log_loss, 1e-6);
  EXPECT_EQ(report["records"]["stored"], 200);
  // What automatic rollback's quality signals read.
  const auto accuracy = monitor->Quality(1, "accuracy", 300);
  ASSERT_TRUE(accuracy.has_value());
  EXPECT_DOUBLE_EQ(accuracy->first, want.accuracy);
  EXPECT_EQ(accuracy->second, 200u);
  EXPECT_FALSE(monitor->Quality(2, "accuracy", 300).has_value());
  EXPECT_FALSE(monitor->Quality(1, "rmse", 300).has_value());
  EXPECT_EQ(report["feedback"]["joined"], 200);

  // Per item: unknown, duplicate, bad labels; one item alone gets its own status.
  auto [s1, b1] = monitor->Feedback(R"({"id": "nope", "label": 1})");
  EXPECT_EQ(s1, 404);
  EXPECT_NE(b1.find("no prediction 'nope' of model 'm' (unknown, or expired)"), std::string::npos);
  auto [s2, b2] = monitor->Feedback(R"({"id": "r1", "label": 1})");
  EXPECT_EQ(s2, 409) << b2;
  monitor->Observe(1, "x", Input(0.5), BinaryAnswer(0.2));
  for (const auto& [label, message] : std::vector<std::pair<std::string, std::string>>{
           {"7", "class 7 is not between 0 and 1"},
           {"\"cat\"", "unknown class 'cat' (monitoring.classes names none)"},
           {"[0, 1]", "prediction 'x' has 1 rows; got 2 labels"},
           {"0.5", "a class label must be a class index or name"}}) {
    auto [s, b] = monitor->Feedback("{\"id\": \"x\", \"label\": " + label + "}");
    EXPECT_EQ(s, 400) << label;
    EXPECT_NE(b.find(message), std::string::npos) << b;
  }
  // A list answers 200 with a result per item; the good one is joined.
  auto [s3, b3] = monitor->Feedback(R"([{"id": "x", "label": 0}, {"id": "nope", "label": 0}])");
  EXPECT_EQ(s3, 200);
  const json r3 = json::parse(b3);
  EXPECT_EQ(r3["joined"], 1);
  EXPECT_EQ(r3["results"][0]["result"], "joined");
  EXPECT_EQ(r3["results"][1]["result"], "unknown_id");
  for (const char* bad : {"nope", "[]", "{\"label\": 1}", "{\"id\": 3, \"label\": 1}", "7"}) {
    EXPECT_EQ(monitor->Feedback(bad).first, 400) << bad;
  }
  EXPECT_NE(
      registry_.RenderPrometheus().find("inferd_feedback_total{model=\"m\",result=\"joined\"} 201"),
      std::string::npos);
}

TEST_F(ModelMonitorTest, ClassNamesRegressionAndRestart) {
  config::MonitoringConfig cfg;
  cfg.classes = {"no", "yes"};
  {
    auto monitor = Monitor(Binary(), cfg);
    monitor->Observe(3, "a", Input(1), BinaryAnswer(0.9));
    monitor->Observe(3, "b", Input(1), BinaryAnswer(0.1));
    auto [s, b] =
        monitor->Feedback(R"([{"id": "a", "label": "yes"}, {"id": "b", "label": "yes"}])");
    ASSERT_EQ(s, 200) << b;
  }
  // A new monitor over the same store (a restart) sees the same quality.
  auto monitor = Monitor(Binary(), cfg);
  const json q = json::parse(monitor->Report())["windows"][0]["quality"]["3"];
  EXPECT_EQ(q["count"], 2);
  EXPECT_EQ(q["accuracy"], 0.5);
  EXPECT_EQ(q["per_class"]["yes"]["recall"], 0.5);

  // Regression, a request of three rows.
  store_.reset();
  fs::remove_all(dir_);
  store_ = std::move(store::SqliteStore::Open(dir_)).value();
  auto reg = Monitor({0, "", "", "prediction"});
  Tensor v("prediction", DataType::kFp32, {3});
  v.data<float>()[0] = 1;
  v.data<float>()[1] = 2;
  v.data<float>()[2] = 4;
  std::vector<Tensor> out;
  out.push_back(std::move(v));
  reg->Observe(1, "r", Input(0), out);
  auto [s, b] = reg->Feedback(R"({"id": "r", "label": [1, 3, 5]})");
  ASSERT_EQ(s, 200) << b;
  const json rq = json::parse(reg->Report())["windows"][0]["quality"]["1"];
  EXPECT_EQ(rq["count"], 3);
  EXPECT_DOUBLE_EQ(rq["mae"].get<double>(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(rq["mean_error"].get<double>(), -2.0 / 3);
  EXPECT_EQ(reg->Feedback(R"({"id": "r2", "label": "x"})").first, 404);
}

TEST_F(ModelMonitorTest, InputLoggingRetentionAndWindows) {
  config::MonitoringConfig cfg;
  cfg.log_sample_rate = 1;
  cfg.retention_s = 3600;
  cfg.windows_s = {60, 3600};
  auto monitor = Monitor(Binary(), cfg);
  monitor->Observe(1, "old", Input(0.25), BinaryAnswer(0.9));
  monitor->Flush();
  auto rec = store_->GetPredictions("m", {"old"});
  ASSERT_EQ(rec->size(), 1u);
  const json inputs = json::parse((*rec)[0].inputs_json);
  EXPECT_EQ(inputs["input"]["data"], json::array({0.25, 1.0}));
  EXPECT_EQ(inputs["input"]["shape"], json::array({1, 2}));
  EXPECT_EQ((*rec)[0].outputs_json, R"({"l":[1],"p":[[0.1,0.9]]})");
  ASSERT_EQ(monitor->Feedback(R"({"id": "old", "label": 1})").first, 200);
  // Two hours on, the record and its bucket are past the retention (pruned by the writer).
  clock_.Advance(std::chrono::hours(2));
  monitor->Observe(1, "new", Input(0.5), BinaryAnswer(0.2));
  monitor->Flush();
  for (int i = 0; i < 100 && !store_->GetPredictions("m", {"old"})->empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(store_->GetPredictions("m", {"old"})->empty());
  EXPECT_EQ(monitor->Feedback(R"({"id": "old", "label": 1})").first, 404);
  ASSERT_EQ(monitor->Feedback(R"({"id": "new", "label": 1})").first, 200);
  const json report = json::parse(monitor->Report());
  EXPECT_EQ(report["windows"][0]["seconds"], 60);
  EXPECT_EQ(report["windows"][0]["quality"]["1"]["count"], 1);
  // With log_inputs: false, a digest instead of the inputs.
  cfg.log_inputs = false;
  auto hashed = Monitor(Binary(), cfg);
  hashed->Observe(1, "h", Input(0.25), BinaryAnswer(0.9));
  hashed->Flush();
  rec = store_->GetPredictions("m", {"h"});
  EXPECT_EQ((*rec)[0].inputs_json, "");
  EXPECT_EQ((*rec)[0].inputs_sha256.size(), 64u);
}

TEST_F(ModelMonitorTest, DriftAndDataQualityAgainstTheProfile) {
  // The profile: input column 0 ~ U(0, 1) (numeric), column 1 always 1 (categorical); P(class 1)
  // as the score.
  ProfileOptions po;
  FeatureProfiler x("x", false, po), one("one", false, po), score("score", false, po);
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> unit(0, 1);
  for (int i = 0; i < 2000; ++i) {
    x.AddNumber(unit(rng));
    one.AddNumber(1);
    score.AddNumber(unit(rng));
  }
  Profile profile;
  profile.features = {x.Finish(), one.Finish()};
  profile.score = score.Finish();
  ASSERT_EQ(profile.features[1].kind, FeatureProfile::Kind::kCategorical);
  config::MonitoringConfig cfg;
  cfg.log_sample_rate = 0;
  ModelMonitorOptions o;
  o.model = "m";
  o.config = cfg;
  o.config.enabled = true;
  o.roles = Binary();
  o.profile = profile;
  o.store = store_.get();
  o.metrics = metrics_.get();
  o.clock = &clock_;
  o.seed = 12345;
  // A small p-value bound: samples of unshifted data are not flagged by chance (5% at 0.05).
  o.config.drift.p_value = 1e-4;
  auto monitor = std::make_unique<ModelMonitor>(o);
  MonitorRegistry registry(
      [&](const std::string&) -> base::StatusOr<std::unique_ptr<ModelMonitor>> {
        return std::make_unique<ModelMonitor>(o);
      });
  // Version 1 sees data like the profile; version 2 sees x + 0.4, and some bad values.
  for (int i = 0; i < 400; ++i) {
    const double u = unit(rng);
    monitor->Observe(1, "a" + std::to_string(i), Input(u), BinaryAnswer(unit(rng)));
    monitor->Observe(2, "b" + std::to_string(i), Input(u + 0.4), BinaryAnswer(unit(rng)));
  }
  std::vector<Tensor> bad;
  Tensor t("input", DataType::kFp32, {1, 2});
  t.data<float>()[0] = std::nanf("");
  t.data<float>()[1] = 3;  // a category the profile never saw
  bad.push_back(std::move(t));
  for (int i = 0; i < 5; ++i)
    monitor->Observe(2, "bad" + std::to_string(i), bad, BinaryAnswer(0.5));
  monitor->Flush();
  const json report = json::parse(monitor->Report());
  const json& d1 = report["drift"]["versions"]["1"];
  const json& d2 = report["drift"]["versions"]["2"];
  EXPECT_EQ(d1["rows"], 400);
  EXPECT_EQ(d1["features"][0]["method"], "ks");
  EXPECT_FALSE(d1["features"][0]["drifted"].get<bool>()) << d1.dump();
  EXPECT_TRUE(d2["features"][0]["drifted"].get<bool>()) << d2.dump();
  EXPECT_FALSE(d1["features"][1]["drifted"].get<bool>());
  // Five rows of a category 2,000 reference rows never had are significant (Z-test).
  EXPECT_TRUE(d2["features"][1]["drifted"].get<bool>());
  EXPECT_EQ(d2["features"][1]["method"], "z");
  EXPECT_EQ(d2["score"]["drifted"], false);
  EXPECT_EQ(d2["score"]["method"], "ks");
  const json& dq = report["data_quality"]["2"];
  EXPECT_EQ(dq["x"]["missing"], 5);
  EXPECT_GT(dq["x"]["out_of_range"].get<int>(), 100);  // x + 0.4 > 1 for ~40%
  EXPECT_EQ(dq["one"]["unseen"], 5);
  const std::string text = registry_.RenderPrometheus();
  EXPECT_NE(
      text.find("inferd_data_quality_issues_total{model=\"m\",feature=\"one\",issue=\"unseen\"} 5"),
      std::string::npos);
  // Gauges come from the monitors of the registry they are given.
  metrics_->monitors = &registry;
  ASSERT_NE(registry.For("m"), nullptr);
  registry.For("m")->Observe(2, "c", Input(0.9), BinaryAnswer(0.5));
  registry.For("m")->Flush();
  const std::string gauges = registry_.RenderPrometheus();
  EXPECT_NE(gauges.find("inferd_drift_detected{model=\"m\",version=\"2\",feature=\"x\"} 1"),
            std::string::npos)
      << gauges;
  EXPECT_NE(gauges.find("inferd_drift_detected{model=\"m\",version=\"1\",feature=\"x\"} 0"),
            std::string::npos);
  EXPECT_NE(gauges.find("inferd_dataset_drift_share{model=\"m\",version=\"2\"} 1"),
            std::string::npos);
  metrics_->monitors = nullptr;
}

TEST_F(ModelMonitorTest, AlertsFireResolveAndReachTheWebhook) {
  config::MonitoringConfig cfg;
  cfg.enabled = true;
  cfg.webhook = "http://127.0.0.1:1/hook";
  config::MonitoringConfig::AlertRule rule;
  rule.name = "low_accuracy";
  rule.metric = "accuracy";
  rule.below = 0.8;
  rule.for_s = 10;
  cfg.alerts = {rule};
  std::mutex mu;
  std::vector<json> posted;
  int failures = 2;  // the webhook fails twice, then takes the event
  ModelMonitorOptions o;
  o.model = "m";
  o.config = cfg;
  o.roles = Binary();
  o.store = store_.get();
  o.metrics = metrics_.get();
  o.clock = &clock_;
  o.post = [&](const std::string& url, const std::string& body) -> base::Status {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(url, "http://127.0.0.1:1/hook");
    if (failures-- > 0) return base::Unavailable("not yet");
    posted.push_back(json::parse(body));
    return base::Status::Ok();
  };
  auto monitor = std::make_unique<ModelMonitor>(o);
  json feedback = json::array();
  for (int i = 0; i < 10; ++i) {
    monitor->Observe(1, "r" + std::to_string(i), Input(0.5), BinaryAnswer(0.9));
    feedback.push_back({{"id", "r" + std::to_string(i)}, {"label", i % 2}});  // accuracy 0.5
  }
  ASSERT_EQ(monitor->Feedback(feedback.dump()).first, 200);
  auto alerts = monitor->EvaluateAlerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].state, "pending");  // not yet for 10 s
  EXPECT_EQ(alerts[0].value, 0.5);
  clock_.Advance(std::chrono::seconds(11));
  alerts = monitor->EvaluateAlerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].state, "firing");
  EXPECT_EQ(json::parse(monitor->Report())["alerts"][0]["state"], "firing");
  // The window (300 s) moves past the feedback: no data, the alert resolves.
  clock_.Advance(std::chrono::seconds(400));
  EXPECT_TRUE(monitor->EvaluateAlerts().empty());
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (posted.size() == 2) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(posted.size(), 2u);
  EXPECT_EQ(posted[0]["state"], "firing");
  EXPECT_EQ(posted[0]["alert"], "low_accuracy");
  EXPECT_EQ(posted[0]["value"], 0.5);
  EXPECT_EQ(posted[0]["threshold"], 0.8);
  EXPECT_EQ(posted[1]["state"], "resolved");
  const std::string text = registry_.RenderPrometheus();
  EXPECT_NE(text.find("inferd_alerts_total{model=\"m\",alert=\"low_accuracy\",event=\"firing\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("inferd_alert_webhook_total{model=\"m\",result=\"sent\"} 2"),
            std::string::npos);
}

TEST(RolesTest, FromTheSignature) {
  backend::ModelSignature sig;
  sig.outputs = {config::TensorSpec("probabilities", DataType::kFp32, {-1, 3}),
                 config::TensorSpec("label", DataType::kInt64, {-1})};
  config::MonitoringConfig cfg;
  auto r = RolesOf(sig, cfg);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->classes, 3);
  cfg.task = "binary";
  EXPECT_NE(RolesOf(sig, cfg).status().message().find("monitoring.task is binary but"),
            std::string::npos);
  cfg.task = "auto";
  cfg.classes = {"a", "b"};
  EXPECT_NE(RolesOf(sig, cfg).status().message().find("names 2 classes; the model has 3"),
            std::string::npos);
  backend::ModelSignature reg;
  reg.outputs = {config::TensorSpec("prediction", DataType::kFp32, {-1})};
  r = RolesOf(reg, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->classes, 0);
  EXPECT_EQ(r->value, "prediction");
}

}  // namespace
}  // namespace inferd::monitoring
