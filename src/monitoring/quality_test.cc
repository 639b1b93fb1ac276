// Quality metrics against the values Debian's scikit-learn 1.2 printed for the same data
// (tools/fixtures/monitoring/make_reference.py wrote tests/fixtures/monitoring/quality.json).
#include "monitoring/quality.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace inferd::monitoring {
namespace {

using nlohmann::json;

const json& Reference() {
  static const json j = [] {
    std::ifstream f(std::string(INFERD_SOURCE_DIR) + "/tests/fixtures/monitoring/quality.json");
    std::stringstream s;
    s << f.rdbuf();
    return json::parse(s.str());
  }();
  return j;
}

constexpr double kTol = 1e-9;

ClassificationCounts Count(const json& c) {
  ClassificationCounts counts(c["classes"].get<int>());
  const auto truth = c["truth"].get<std::vector<int>>();
  const auto predicted = c["predicted"].get<std::vector<int>>();
  const auto probs = c["probabilities"].get<std::vector<std::vector<double>>>();
  for (size_t i = 0; i < truth.size(); ++i) counts.Add(truth[i], predicted[i], probs[i]);
  return counts;
}

void ExpectClassification(const ClassificationMetrics& m, const json& want) {
  EXPECT_NEAR(m.accuracy, want["accuracy"].get<double>(), kTol);
  ASSERT_EQ(m.classes, want["classes"].get<std::vector<int>>());
  for (size_t i = 0; i < m.classes.size(); ++i) {
    const json& w = want["per_class"][i];
    EXPECT_NEAR(m.per_class[i].precision, w["precision"].get<double>(), kTol) << i;
    EXPECT_NEAR(m.per_class[i].recall, w["recall"].get<double>(), kTol) << i;
    EXPECT_NEAR(m.per_class[i].f1, w["f1"].get<double>(), kTol) << i;
    EXPECT_EQ(m.per_class[i].support, w["support"].get<uint64_t>()) << i;
  }
  for (const auto& [name, got] : {std::pair{"macro", m.macro}, std::pair{"micro", m.micro},
                                  std::pair{"weighted", m.weighted}}) {
    EXPECT_NEAR(got.precision, want[name]["precision"].get<double>(), kTol) << name;
    EXPECT_NEAR(got.recall, want[name]["recall"].get<double>(), kTol) << name;
    EXPECT_NEAR(got.f1, want[name]["f1"].get<double>(), kTol) << name;
  }
  if (want["roc_auc"].is_null()) {
    EXPECT_FALSE(m.roc_auc.has_value());
  } else {
    ASSERT_TRUE(m.roc_auc.has_value());
    // Every score lies inside its bin and equal scores share one: the binned AUC is exact.
    EXPECT_NEAR(*m.roc_auc, want["roc_auc"].get<double>(), kTol);
  }
  ASSERT_TRUE(m.log_loss.has_value());
  EXPECT_NEAR(*m.log_loss, want["log_loss"].get<double>(), kTol);
  const auto confusion = want["confusion"].get<std::vector<std::vector<uint64_t>>>();
  EXPECT_EQ(m.confusion, confusion);
}

TEST(QualityTest, BinaryMatchesScikitLearn) {
  const json& c = Reference()["binary"];
  ExpectClassification(ComputeClassification(Count(c)), c["expected"]);
}

TEST(QualityTest, MulticlassMatchesScikitLearn) {
  const json& c = Reference()["multiclass"];
  ExpectClassification(ComputeClassification(Count(c)), c["expected"]);
}

TEST(QualityTest, AClassNeverSeenIsLeftOutAsScikitLearnDoes) {
  const json& c = Reference()["multiclass_absent_class"];
  ExpectClassification(ComputeClassification(Count(c)), c["expected"]);
}

TEST(QualityTest, BucketsMergeIntoTheWholeAndSurviveJson) {
  const json& c = Reference()["binary"];
  const auto truth = c["truth"].get<std::vector<int>>();
  const auto predicted = c["predicted"].get<std::vector<int>>();
  const auto probs = c["probabilities"].get<std::vector<std::vector<double>>>();
  // Three "time buckets", each stored as JSON and read back, merged.
  ClassificationCounts merged(2);
  for (size_t part = 0; part < 3; ++part) {
    ClassificationCounts bucket(2);
    for (size_t i = part; i < truth.size(); i += 3) bucket.Add(truth[i], predicted[i], probs[i]);
    auto back = ClassificationCounts::FromJson(bucket.ToJson());
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ASSERT_TRUE(merged.Merge(*back).ok());
  }
  ExpectClassification(ComputeClassification(merged), c["expected"]);
  EXPECT_FALSE(merged.Merge(ClassificationCounts(3)).ok());
  EXPECT_FALSE(ClassificationCounts::FromJson("{\"classes\": 2}").ok());
  EXPECT_FALSE(ClassificationCounts::FromJson("nope").ok());
}

TEST(QualityTest, EmptyAndOutOfRangeGiveNoNaN) {
  ClassificationCounts c(2);
  c.Add(5, 0, {});  // out of range: ignored
  auto m = ComputeClassification(c);
  EXPECT_EQ(m.count, 0u);
  EXPECT_EQ(m.accuracy, 0);
  EXPECT_FALSE(m.roc_auc.has_value());
  EXPECT_FALSE(m.log_loss.has_value());
  c.Add(1, 1, {});  // no probabilities: counted, not scored
  m = ComputeClassification(c);
  EXPECT_EQ(m.accuracy, 1);
  EXPECT_FALSE(m.roc_auc.has_value());  // one outcome only
  EXPECT_EQ(ComputeRegression(RegressionCounts()).rmse, 0);
}

void ExpectRegression(const json& c) {
  RegressionCounts counts;
  const auto truth = c["truth"].get<std::vector<double>>();
  const auto predicted = c["predicted"].get<std::vector<double>>();
  // Two buckets merged, one through JSON.
  RegressionCounts second;
  for (size_t i = 0; i < truth.size(); ++i) {
    (i % 2 ? second : counts).Add(truth[i], predicted[i]);
  }
  auto back = RegressionCounts::FromJson(second.ToJson());
  ASSERT_TRUE(back.ok());
  counts.Merge(*back);
  const auto m = ComputeRegression(counts);
  const json& w = c["expected"];
  EXPECT_EQ(m.count, truth.size());
  EXPECT_NEAR(m.mae, w["mae"].get<double>(), kTol);
  EXPECT_NEAR(m.rmse, w["rmse"].get<double>(), kTol);
  // MAPE divides by eps (2.2e-16) where the truth is 0: relative tolerance.
  EXPECT_NEAR(m.mape, w["mape"].get<double>(), 1e-12 * std::abs(w["mape"].get<double>()) + kTol);
  EXPECT_NEAR(m.r2, w["r2"].get<double>(), kTol);
  EXPECT_NEAR(m.mean_error, w["mean_error"].get<double>(), kTol);
}

TEST(QualityTest, RegressionMatchesScikitLearn) {
  ExpectRegression(Reference()["regression"]);
  ExpectRegression(Reference()["regression_constant_truth"]);
  ExpectRegression(Reference()["regression_constant_truth_errors"]);
}

}  // namespace
}  // namespace inferd::monitoring
