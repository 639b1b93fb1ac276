// Parity with libxgboost 1.7 on models trained inside the test through its C API, for cases the
// committed fixtures do not cover: dart (weight_drop), survival:aft, rank:map, reg:linear, deep
// pruned trees (deleted nodes), binary:hinge and multi-class with missing values, 2-class
// softprob, non-default base_score with log and logit links, and input values exactly equal to
// split thresholds. Each model is saved as JSON and UBJSON and both are compared.
#include <gtest/gtest.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "backends/forest/forest_test_util.h"
#include "backends/forest/xgboost_model.h"

namespace inferd::backends::forest::testing {
namespace {

namespace fs = std::filesystem;

enum class LabelKind { kRegression, kPositive, kBinary, kMulti3, kMulti5, kRank, kAft };

struct TrainCase {
  std::string name;
  std::vector<std::pair<std::string, std::string>> params;
  LabelKind label = LabelKind::kRegression;
  int rounds = 8;
  int features = 6;
  double missing = 0.0;  // fraction of feature values set to NaN
};

void PrintTo(const TrainCase& c, std::ostream* os) { *os << c.name; }

std::vector<TrainCase> Cases() {
  using P = std::vector<std::pair<std::string, std::string>>;
  return {
      {"dart_regression",
       P{{"booster", "dart"}, {"rate_drop", "0.3"}, {"objective", "reg:squarederror"}},
       LabelKind::kRegression, 10},
      {"dart_binary",
       P{{"booster", "dart"}, {"rate_drop", "0.5"}, {"objective", "binary:logistic"}},
       LabelKind::kBinary, 10, 6, 0.1},
      {"dart_multi",
       P{{"booster", "dart"},
         {"rate_drop", "0.2"},
         {"objective", "multi:softprob"},
         {"num_class", "3"}},
       LabelKind::kMulti3, 6},
      {"survival_aft", P{{"objective", "survival:aft"}, {"aft_loss_distribution", "normal"}},
       LabelKind::kAft, 10},
      {"survival_aft_base_score",
       P{{"objective", "survival:aft"},
         {"aft_loss_distribution", "logistic"},
         {"base_score", "3.5"}},
       LabelKind::kAft, 6},
      {"rank_map", P{{"objective", "rank:map"}}, LabelKind::kRank, 8},
      {"reg_linear_alias", P{{"objective", "reg:linear"}}, LabelKind::kRegression, 5},
      {"deep_pruned_missing",
       P{{"objective", "reg:squarederror"},
         {"tree_method", "exact"},
         {"max_depth", "12"},
         {"gamma", "2.0"},
         {"min_child_weight", "0"}},
       LabelKind::kRegression, 6, 10, 0.3},
      {"hinge_missing", P{{"objective", "binary:hinge"}}, LabelKind::kBinary, 8, 6, 0.25},
      {"softmax_missing_parallel",
       P{{"objective", "multi:softmax"},
         {"num_class", "5"},
         {"num_parallel_tree", "2"},
         {"subsample", "0.7"}},
       LabelKind::kMulti5, 4, 8, 0.2},
      {"softprob_two_classes", P{{"objective", "multi:softprob"}, {"num_class", "2"}},
       LabelKind::kBinary, 6},
      {"poisson_base_score", P{{"objective", "count:poisson"}, {"base_score", "3.0"}},
       LabelKind::kPositive, 8},
      {"tweedie_missing", P{{"objective", "reg:tweedie"}}, LabelKind::kPositive, 8, 6, 0.2},
      {"logistic_base_score_approx",
       P{{"objective", "binary:logistic"},
         {"base_score", "0.8"},
         {"tree_method", "approx"},
         {"max_depth", "6"}},
       LabelKind::kBinary, 8},
      {"reg_logistic_missing", P{{"objective", "reg:logistic"}}, LabelKind::kBinary, 6, 6, 0.3},
  };
}

Matrix RandomRows(int64_t rows, int64_t cols, double missing, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Matrix m{rows, cols, std::vector<float>(static_cast<size_t>(rows * cols))};
  for (float& v : m.values) v = unit(rng) < missing ? std::nanf("") : normal(rng);
  return m;
}

float Feature(const Matrix& x, int64_t r, int64_t c) {
  const float v = x.at(r, c);
  return std::isnan(v) ? 0.0f : v;
}

std::vector<float> Labels(const Matrix& x, LabelKind kind) {
  std::vector<float> y(static_cast<size_t>(x.rows));
  for (int64_t r = 0; r < x.rows; ++r) {
    const float s = Feature(x, r, 0) + 0.5f * Feature(x, r, 1) - 0.3f * Feature(x, r, 2);
    switch (kind) {
      case LabelKind::kRegression:
        y[r] = 3.0f * s + 10.0f;
        break;
      case LabelKind::kPositive:
      case LabelKind::kAft:
        y[r] = std::round(std::exp(0.7f * s) * 3.0f) + 1.0f;
        break;
      case LabelKind::kBinary:
        y[r] = s > 0.2f ? 1.0f : 0.0f;
        break;
      case LabelKind::kMulti3:
        y[r] = s < -0.5f ? 0.0f : (s < 0.5f ? 1.0f : 2.0f);
        break;
      case LabelKind::kMulti5:
        y[r] = static_cast<float>(std::clamp(static_cast<int>(std::floor(s + 2.5f)), 0, 4));
        break;
      case LabelKind::kRank:
        y[r] = static_cast<float>(std::clamp(static_cast<int>(std::floor(s + 1.5f)), 0, 3));
        break;
    }
  }
  return y;
}

// Trains a booster and saves it as model.json and model.ubj in `dir`.
void Train(const TrainCase& c, const fs::path& dir) {
  const Matrix x = RandomRows(600, c.features, c.missing, 7);
  const std::vector<float> y = Labels(x, c.label);
  DMatrixHandle dm = nullptr;
  ASSERT_EQ(XGDMatrixCreateFromMat(x.values.data(), x.rows, x.cols, std::nanf(""), &dm), 0)
      << XgbLastError();
  if (c.label == LabelKind::kAft) {
    std::vector<float> upper = y;
    for (size_t i = 0; i < upper.size(); i += 4) upper[i] = INFINITY;  // right-censored
    ASSERT_EQ(XGDMatrixSetFloatInfo(dm, "label_lower_bound", y.data(), y.size()), 0);
    ASSERT_EQ(XGDMatrixSetFloatInfo(dm, "label_upper_bound", upper.data(), upper.size()), 0);
  } else {
    ASSERT_EQ(XGDMatrixSetFloatInfo(dm, "label", y.data(), y.size()), 0);
  }
  if (c.label == LabelKind::kRank) {
    std::vector<unsigned> groups(60, 10);
    ASSERT_EQ(XGDMatrixSetUIntInfo(dm, "group", groups.data(), groups.size()), 0);
  }
  BoosterHandle booster = nullptr;
  ASSERT_EQ(XGBoosterCreate(&dm, 1, &booster), 0);
  XgbBooster owner(booster);
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"nthread", "1"}, {"seed", "3"}, {"max_depth", "4"}, {"eta", "0.4"}}) {
    ASSERT_EQ(XGBoosterSetParam(booster, k.c_str(), v.c_str()), 0);
  }
  for (const auto& [k, v] : c.params) {
    ASSERT_EQ(XGBoosterSetParam(booster, k.c_str(), v.c_str()), 0) << XgbLastError();
  }
  for (int i = 0; i < c.rounds; ++i) {
    ASSERT_EQ(XGBoosterUpdateOneIter(booster, i, dm), 0) << XgbLastError();
  }
  ASSERT_EQ(XGBoosterSaveModel(booster, (dir / "model.json").c_str()), 0) << XgbLastError();
  ASSERT_EQ(XGBoosterSaveModel(booster, (dir / "model.ubj").c_str()), 0) << XgbLastError();
  XGDMatrixFree(dm);
}

// Test rows: random ones (with the case's missing rate) and rows whose values are split
// thresholds of the model itself, so that `x == threshold` decisions are exercised.
Matrix TestRows(const TrainCase& c, const TreeEnsemble& forest) {
  Matrix x = RandomRows(150, c.features, c.missing, 11);
  std::vector<std::vector<float>> thresholds(static_cast<size_t>(c.features));
  for (const TreeNode& n : forest.nodes) {
    if (!n.is_leaf()) thresholds[n.feature].push_back(static_cast<float>(n.value));
  }
  for (int64_t r = 0; r < 100; ++r) {
    for (int64_t f = 0; f < c.features; ++f) {
      const auto& t = thresholds[f];
      x.values.push_back(t.empty() ? 0.25f : t[(r * 7 + f) % t.size()]);
    }
    ++x.rows;
  }
  return x;
}

ParityStats& TrainedTotals() {
  static ParityStats totals;
  return totals;
}

class ReportTrained : public ::testing::Environment {
 public:
  void TearDown() override {
    if (TrainedTotals().direct.values == 0) return;
    std::printf("[ trained ] vs libxgboost, its outputs: %s\n",
                TrainedTotals().direct.ToString().c_str());
    std::printf("[ trained ] vs libxgboost, derived:     %s\n",
                TrainedTotals().derived.ToString().c_str());
  }
};
[[maybe_unused]] auto* const kReport = ::testing::AddGlobalTestEnvironment(new ReportTrained);

class TrainedParityTest : public ::testing::TestWithParam<TrainCase> {};

TEST_P(TrainedParityTest, MatchesLibxgboost) {
  const TrainCase& c = GetParam();
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Train(c, dir.path()));
  for (const char* file : {"model.json", "model.ubj"}) {
    const fs::path path = dir.path() / file;
    SCOPED_TRACE(c.name + "/" + file);
    auto parsed = ReadXgboostModel(path, int64_t{1} << 30);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    const Matrix x = TestRows(c, parsed->forest);
    auto model = LoadWithForest(path);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    auto booster = XgbBooster::Load(path);
    ASSERT_TRUE(booster.ok()) << booster.status().ToString();
    auto predict = (*booster)->Predict(x, false);
    auto margin = (*booster)->Predict(x, true);
    ASSERT_TRUE(predict.ok() && margin.ok());
    ParityStats stats;
    ExpectMatchesReference(**model, TaskOf(**model), x, *predict, *margin, &stats);
    TrainedTotals().Merge(stats);
  }
}

INSTANTIATE_TEST_SUITE_P(Trained, TrainedParityTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

TEST(TrainedModelTest, DartKeepsWeightsAndObjectiveNames) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Train(Cases()[0], dir.path()));
  auto parsed = ReadXgboostModel(dir.path() / "model.json", int64_t{1} << 30);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->booster, "dart");
  EXPECT_TRUE(parsed->forest.weighted);
  bool some_weight_below_one = false;
  for (const TreeInfo& t : parsed->forest.trees) some_weight_below_one |= t.weight < 1.0f;
  EXPECT_TRUE(some_weight_below_one) << "rate_drop 0.3 should have scaled some trees";
}

TEST(TrainedModelTest, PrunedTreesHaveUnreachableNodes) {
  // gamma pruning with the exact method deletes nodes; they stay in the arrays, unreachable.
  const TrainCase c = Cases()[7];
  ASSERT_EQ(c.name, "deep_pruned_missing");
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Train(c, dir.path()));
  const auto doc = nlohmann::json::parse(ReadText(dir.path() / "model.json"));
  int64_t deleted = 0;
  for (const auto& tree : doc["learner"]["gradient_booster"]["model"]["trees"]) {
    deleted += std::stoll(tree["tree_param"]["num_deleted"].get<std::string>());
  }
  std::printf("[ trained ] deep_pruned_missing: %lld deleted nodes in the saved trees\n",
              static_cast<long long>(deleted));
  EXPECT_GT(deleted, 0) << "the parity case no longer covers deleted nodes";
}

}  // namespace
}  // namespace inferd::backends::forest::testing
