#include "tools/forest_optimize.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "backends/forest/forest_backend.h"
#include "backends/forest/xgboost_model.h"
#include "base/file.h"
#include "tools/local_model.h"

namespace inferd::tools {
namespace {

namespace fs = std::filesystem;
using backends::forest::ParseXgboostModel;
using backends::forest::ReferencePredictMargin;
using backends::forest::XgboostModel;

class ForestOptimizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "forest-opt-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
    registry_.Register(backends::forest::ForestBackend::Create({.threads = 1}).value());
  }
  void TearDown() override { fs::remove_all(dir_); }
  static fs::path Fixture(const std::string& name) {
    return fs::path(INFERD_SOURCE_DIR) / "tests/fixtures/xgboost" / name;
  }
  static XgboostModel Parse(const std::string& json) {
    auto m = ParseXgboostModel(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(json.data()), json.size()),
        backends::forest::ModelFormat::kJson);
    EXPECT_TRUE(m.ok()) << m.status().message();
    return m.ok() ? std::move(m).value() : XgboostModel{};
  }
  // The fixture's input rows, float.
  static std::vector<float> Rows(const std::string& fixture, int64_t* n, int64_t width) {
    std::ifstream in(Fixture(fixture) / "input.csv");
    std::string line;
    std::getline(in, line);
    std::vector<float> x;
    *n = 0;
    while (std::getline(in, line)) {
      std::stringstream ss(line);
      std::string f;
      for (int64_t c = 0; c < width; ++c) {
        std::getline(ss, f, ',');
        x.push_back(f.empty() ? NAN : std::stof(f));
      }
      ++*n;
    }
    return x;
  }
  static std::vector<float> Margins(const XgboostModel& m, const std::vector<float>& x, int64_t n) {
    std::vector<float> out(n * m.forest.num_groups);
    ReferencePredictMargin<float>(m.forest, x.data(), n, out.data());
    return out;
  }
  fs::path dir_;
  backend::BackendRegistry registry_;
};

TEST_F(ForestOptimizeTest, AllRoundsAsTrainedPredictExactlyAsTheSource) {
  for (const std::string fixture : {"binary_logistic", "multi_softprob", "reg_squarederror",
                                    "rf_binary", "v3_1_format_multi", "binary_logistic_missing"}) {
    SCOPED_TRACE(fixture);
    const fs::path file = Fixture(fixture) / "model.json";
    auto opt = ForestOptimizer::Load(file);
    ASSERT_TRUE(opt.ok()) << opt.status().message();
    std::vector<int64_t> all(opt->rounds());
    std::iota(all.begin(), all.end(), 0);
    const ForestCandidate c = opt->Make(all, 0, {});
    const XgboostModel source = Parse(*base::ReadWholeFile(file, "model"));
    const XgboostModel made = Parse(c.model_json);
    EXPECT_EQ(made.forest.trees.size(), source.forest.trees.size());
    EXPECT_EQ(c.trees, opt->num_trees());
    int64_t n = 0;
    const auto x = Rows(fixture, &n, source.forest.num_features);
    EXPECT_EQ(Margins(made, x, n), Margins(source, x, n));
  }
}

TEST_F(ForestOptimizeTest, DroppedRoundsKeepTheirMeanInTheBaseScoreOrInOneLeafTrees) {
  // Binary: the first 10 of 30 rounds, bias 0.25 in base_score.
  auto opt = ForestOptimizer::Load(Fixture("binary_logistic") / "model.json");
  ASSERT_TRUE(opt.ok());
  const XgboostModel source =
      Parse(*base::ReadWholeFile(Fixture("binary_logistic") / "model.json", "m"));
  std::vector<int64_t> first(10);
  std::iota(first.begin(), first.end(), 0);
  XgboostModel made = Parse(opt->Make(first, 0, {0.25}).model_json);
  ASSERT_EQ(made.forest.trees.size(), 10u);
  EXPECT_NEAR(made.forest.base_margin[0], source.forest.base_margin[0] + 0.25, 1e-5);

  // Multiclass: one leaf tree per group holds it.
  opt = ForestOptimizer::Load(Fixture("multi_softprob") / "model.json");
  ASSERT_TRUE(opt.ok());
  const int64_t groups =
      Parse(*base::ReadWholeFile(Fixture("multi_softprob") / "model.json", "m")).forest.num_groups;
  ASSERT_GT(groups, 2);
  std::vector<double> bias(groups);
  for (int64_t g = 0; g < groups; ++g) bias[g] = 0.1 * (g + 1);
  made = Parse(opt->Make({0, 1}, 0, bias).model_json);
  ASSERT_EQ(static_cast<int64_t>(made.forest.trees.size()), 2 * groups + groups);
  std::vector<float> zeros(made.forest.num_features, 0.0f);
  for (int64_t g = 0; g < groups; ++g) {
    const size_t stump = 2 * groups + g;
    EXPECT_EQ(made.forest.trees[stump].group, g);
    EXPECT_EQ(made.forest.trees[stump].num_nodes, 1u);
    EXPECT_NEAR(backends::forest::ReferencePredictTree<float>(made.forest, stump, zeros.data()),
                0.1 * (g + 1), 1e-6);
  }
}

TEST_F(ForestOptimizeTest, DepthCapsAndMergedLeaves) {
  auto opt = ForestOptimizer::Load(Fixture("binary_logistic") / "model.json");
  ASSERT_TRUE(opt.ok());
  ASSERT_EQ(opt->max_depth(), 4);
  std::vector<int64_t> all(opt->rounds());
  std::iota(all.begin(), all.end(), 0);
  const ForestCandidate full = opt->Make(all, 0, {});
  const ForestCandidate capped = opt->Make(all, 2, {});
  EXPECT_EQ(capped.max_depth, 2);
  EXPECT_LT(capped.nodes, full.nodes);
  const XgboostModel m = Parse(capped.model_json);  // a valid model
  EXPECT_EQ(m.forest.trees.size(), full.trees);

  // Two sibling leaves of the same value become their parent.
  auto doc =
      nlohmann::json::parse(*base::ReadWholeFile(Fixture("binary_logistic") / "model.json", "m"));
  auto& tree = doc["learner"]["gradient_booster"]["model"]["trees"][0];
  int parent = -1;
  for (size_t i = 0; i < tree["left_children"].size() && parent < 0; ++i) {
    const int l = tree["left_children"][i], r = tree["right_children"][i];
    if (l >= 0 && tree["left_children"][l] == -1 && tree["left_children"][r] == -1) {
      tree["split_conditions"][r] = tree["split_conditions"][l];
      parent = static_cast<int>(i);
    }
  }
  ASSERT_GE(parent, 0);
  std::ofstream(dir_ / "model.json") << doc.dump();
  auto edited = ForestOptimizer::Load(dir_ / "model.json");
  ASSERT_TRUE(edited.ok());
  const ForestCandidate merged = edited->Make(all, 0, {});
  EXPECT_EQ(merged.merged, 1);
  EXPECT_EQ(merged.nodes, full.nodes - 2);
  int64_t n = 0;
  const auto x = Rows("binary_logistic", &n, 30);
  EXPECT_EQ(Margins(Parse(merged.model_json), x, n),
            Margins(Parse(*base::ReadWholeFile(dir_ / "model.json", "m")), x, n));
}

TEST_F(ForestOptimizeTest, CandidatesStayWithinTheBudgetWhenServed) {
  const fs::path model = fs::path(INFERD_SOURCE_DIR) / "bench/models/forest_300/1/model.ubj";
  const fs::path holdout = fs::path(INFERD_SOURCE_DIR) / "bench/models/forest_300/holdout.csv";
  auto data = ReadLabelledCsv({.path = holdout, .label = "y", .width = 30});
  ASSERT_TRUE(data.ok()) << data.status().message();
  auto source = LoadLocalModel({.path = model, .backends = &registry_});
  ASSERT_TRUE(source.ok());
  auto base = Evaluate(*source->model, source->config, *data);
  ASSERT_TRUE(base.ok());
  const double reference = base->metrics.at("roc_auc");
  auto opt = ForestOptimizer::Load(model);
  ASSERT_TRUE(opt.ok()) << opt.status().message();
  EXPECT_EQ(opt->num_trees(), 300);
  auto candidates = opt->Candidates(*data, "binary", "roc_auc", reference, 0.002);
  ASSERT_TRUE(candidates.ok()) << candidates.status().message();
  ASSERT_FALSE(candidates->empty());
  for (const auto& c : *candidates) {
    SCOPED_TRACE(c.name);
    EXPECT_LT(c.trees, 300);
    EXPECT_LE(reference - c.estimated, 0.002);
    // Served by the engine, the metric agrees with the estimate.
    fs::create_directories(dir_ / "c" / "1");
    std::ofstream(dir_ / "c" / "1" / "model.json") << c.model_json;
    auto local = LoadLocalModel({.path = dir_ / "c", .backends = &registry_});
    ASSERT_TRUE(local.ok()) << local.status().message();
    auto e = Evaluate(*local->model, local->config, *data);
    ASSERT_TRUE(e.ok());
    EXPECT_NEAR(e->metrics.at("roc_auc"), c.estimated, 1e-4);
    fs::remove_all(dir_ / "c");
  }
  // A budget of -1 admits nothing.
  EXPECT_TRUE(opt->Candidates(*data, "binary", "roc_auc", reference, -1)->empty());
}

TEST_F(ForestOptimizeTest, RefusesWhatItCannotRewrite) {
  auto cat = ForestOptimizer::Load(Fixture("binary_categorical") / "model.json");
  ASSERT_FALSE(cat.ok());
  EXPECT_NE(cat.status().message().find("categorical"), std::string::npos);
  auto missing = ForestOptimizer::Load(dir_ / "none.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("none.json"), std::string::npos);
}

}  // namespace
}  // namespace inferd::tools
