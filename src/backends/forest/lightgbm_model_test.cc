// LightGBM text models: every fixture (models and predictions made by LightGBM v4.6.0) matched
// through the reference evaluator and through the loaded model; decision rules on hand-made
// models; objectives; and corrupt files refused with a message naming the place.
#include "backends/forest/lightgbm_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "backends/forest/forest_test_util.h"
#include "backends/forest/lightgbm_loaded.h"
#include "backends/forest/tree_ensemble.h"

namespace inferd::backends::forest::testing {
namespace {

namespace fs = std::filesystem;
using base::StatusCode;
using tensor::DataType;
using tensor::Tensor;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

fs::path FixtureRoot() { return fs::path(INFERD_SOURCE_DIR) / "tests/fixtures/lightgbm"; }

const char* const kFixtures[] = {"binary_breast_cancer",   "categorical_binary",
                                 "multiclass_digits",      "regression_diabetes",
                                 "regression_nan_missing", "xentropy"};

// Row-major doubles from a CSV with a header line; an empty field is NaN. strtod rounds
// correctly, so shortest round-trip decimals give back the exact doubles.
struct Table {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<double> values;
};

Table ReadTable(const fs::path& path) {
  std::ifstream in(path);
  Table t;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    int64_t cols = 0;
    size_t i = 0;
    while (true) {
      const size_t j = std::min(line.find(',', i), line.size());
      const std::string cell = line.substr(i, j - i);
      t.values.push_back(cell.empty() ? kNaN : std::strtod(cell.c_str(), nullptr));
      ++cols;
      if (j == line.size()) break;
      i = j + 1;
    }
    if (t.rows == 0) t.cols = cols;
    EXPECT_EQ(cols, t.cols) << path << " row " << t.rows;
    ++t.rows;
  }
  return t;
}

double RelDiff(double got, double want) {
  if (std::isnan(got) || std::isnan(want)) return std::isnan(got) && std::isnan(want) ? 0 : 1e300;
  return std::abs(got - want) / std::max(1.0, std::abs(want));
}

constexpr double kTol = 1e-9;

LightgbmModel MustParse(const std::string& text) {
  auto m = ParseLightgbmModel(text);
  CHECK_MSG(m.ok(), m.status().ToString());
  return std::move(m).value();
}

std::unique_ptr<backend::LoadedModel> MustLoad(const fs::path& path,
                                               const config::ModelConfig& config = {}) {
  auto m = LoadLightgbmModel(backend::LoadRequest{"m", 1, path, &config}, int64_t{1} << 30,
                             std::make_shared<base::ThreadPool>(1));
  CHECK_MSG(m.ok(), m.status().ToString());
  return std::move(m).value();
}

Tensor Fp64Input(const Table& x) {
  Tensor t("input", DataType::kFp64, {x.rows, x.cols});
  std::copy(x.values.begin(), x.values.end(), t.data<double>().begin());
  return t;
}

std::map<std::string, Tensor> RunModel(const backend::LoadedModel& model, const Tensor& input,
                                       std::vector<std::string> outputs = {}) {
  std::vector<Tensor> in;
  in.push_back(input);
  auto r = model.Execute(in, outputs);
  CHECK_MSG(r.ok(), r.status().ToString());
  std::map<std::string, Tensor> m;
  for (Tensor& t : *r) m[t.name()] = std::move(t);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

TEST(LightgbmFixtures, ReferenceEvaluatorMatchesLightgbm) {
  for (const char* name : kFixtures) {
    SCOPED_TRACE(name);
    const fs::path dir = FixtureRoot() / name;
    const LightgbmModel model = MustParse(ReadText(dir / "model.txt"));
    const Table x = ReadTable(dir / "input.csv");
    const Table raw = ReadTable(dir / "expected_raw.csv");
    const Table expected = ReadTable(dir / "expected.csv");
    ASSERT_EQ(x.cols, model.ensemble.num_features);
    ASSERT_EQ(raw.rows, x.rows);
    ASSERT_EQ(raw.cols, model.ensemble.num_groups);

    std::vector<double> margin(static_cast<size_t>(x.rows * model.ensemble.num_groups));
    std::vector<double> scratch;
    const double* rows =
        LightgbmInputs(model.categorical_features, x.cols, x.values.data(), x.rows, &scratch);
    ReferencePredictMargin<double>(model.ensemble, rows, x.rows, margin.data());
    double max_raw = 0;
    for (size_t i = 0; i < margin.size(); ++i) {
      const double d = RelDiff(margin[i], raw.values[i]);
      max_raw = std::max(max_raw, d);
      EXPECT_LE(d, kTol) << "raw value " << i << " (row " << i / raw.cols << "): " << margin[i]
                         << " vs " << raw.values[i];
    }
    std::vector<double> predicted = margin;
    ApplyLightgbmTransform(model.objective, x.rows, model.ensemble.num_groups, predicted);
    ASSERT_EQ(expected.values.size(), predicted.size());
    double max_pred = 0;
    for (size_t i = 0; i < predicted.size(); ++i) {
      const double d = RelDiff(predicted[i], expected.values[i]);
      max_pred = std::max(max_pred, d);
      EXPECT_LE(d, kTol) << "prediction " << i << ": " << predicted[i] << " vs "
                         << expected.values[i];
    }
    std::printf("[ lightgbm ] %-24s reference: max rel error raw %.3g, prediction %.3g\n", name,
                max_raw, max_pred);
  }
}

TEST(LightgbmFixtures, LoadedModelMatchesLightgbm) {
  for (const char* name : kFixtures) {
    SCOPED_TRACE(name);
    const fs::path dir = FixtureRoot() / name;
    auto model = MustLoad(dir / "model.txt");
    const auto& sig = model->signature();
    EXPECT_EQ(sig.platform, "lightgbm_text");
    ASSERT_EQ(sig.inputs.size(), 1u);
    EXPECT_EQ(sig.inputs[0].dtype, DataType::kFp64);
    EXPECT_EQ(sig.properties.at("format_version"), "v4");

    const Table x = ReadTable(dir / "input.csv");
    const Table raw = ReadTable(dir / "expected_raw.csv");
    const Table expected = ReadTable(dir / "expected.csv");
    EXPECT_EQ(sig.inputs[0].shape, (tensor::Shape{-1, x.cols}));
    auto out = RunModel(*model, Fp64Input(x));
    EXPECT_EQ(out.count("margin"), 0u) << "margin only on request";
    const std::string objective = sig.properties.at("objective");
    double max_pred = 0;
    if (objective == "binary" || objective == "multiclass") {
      ASSERT_EQ(out.size(), 2u);
      const Tensor& p = out.at("probabilities");
      const Tensor& label = out.at("label");
      EXPECT_EQ(p.dtype(), DataType::kFp64);
      EXPECT_EQ(label.dtype(), DataType::kInt64);
      const int64_t width = objective == "binary" ? 2 : expected.cols;
      ASSERT_EQ(p.shape(), (tensor::Shape{x.rows, width}));
      auto pd = p.data<double>();
      for (int64_t r = 0; r < x.rows; ++r) {
        int64_t best = 0;
        for (int64_t k = 0; k < expected.cols; ++k) {
          const double want = expected.values[r * expected.cols + k];
          const double got = objective == "binary" ? pd[2 * r + 1] : pd[r * width + k];
          const double d = RelDiff(got, want);
          max_pred = std::max(max_pred, d);
          EXPECT_LE(d, kTol) << "row " << r << " class " << k;
          if (want > expected.values[r * expected.cols + best]) best = k;
        }
        if (objective == "binary") {
          EXPECT_EQ(pd[2 * r], 1.0 - pd[2 * r + 1]);
          best = expected.values[r] > 0.5 ? 1 : 0;
        }
        EXPECT_EQ(label.data<int64_t>()[r], best) << "row " << r;
      }
    } else {
      ASSERT_EQ(out.size(), 1u);
      const Tensor& p = out.at("prediction");
      EXPECT_EQ(p.dtype(), DataType::kFp64);
      ASSERT_EQ(p.shape(), (tensor::Shape{x.rows}));
      for (int64_t r = 0; r < x.rows; ++r) {
        const double d = RelDiff(p.data<double>()[r], expected.values[r]);
        max_pred = std::max(max_pred, d);
        EXPECT_LE(d, kTol) << "row " << r;
      }
    }
    auto m = RunModel(*model, Fp64Input(x), {"margin"});
    ASSERT_EQ(m.size(), 1u);
    const Tensor& margin = m.at("margin");
    EXPECT_EQ(margin.dtype(), DataType::kFp64);
    ASSERT_EQ(static_cast<size_t>(margin.element_count()), raw.values.size());
    double max_raw = 0;
    for (size_t i = 0; i < raw.values.size(); ++i) {
      const double d = RelDiff(margin.data<double>()[i], raw.values[i]);
      max_raw = std::max(max_raw, d);
      EXPECT_LE(d, kTol) << "raw value " << i;
    }
    std::printf("[ lightgbm ] %-24s loaded:    max rel error raw %.3g, prediction %.3g\n", name,
                max_raw, max_pred);
  }
}

TEST(LightgbmFixtures, LargeBatchesSplitOverThePoolMatchToo) {
  for (const char* name : kFixtures) {
    SCOPED_TRACE(name);
    const fs::path dir = FixtureRoot() / name;
    auto model = MustLoad(dir / "model.txt");
    const Table x = ReadTable(dir / "input.csv");
    const Table raw = ReadTable(dir / "expected_raw.csv");
    constexpr int kCopies = 9;  // >= 1800 rows, above CompiledForest's parallel threshold
    Table big{x.rows * kCopies, x.cols, {}};
    for (int c = 0; c < kCopies; ++c)
      big.values.insert(big.values.end(), x.values.begin(), x.values.end());
    auto out = RunModel(*model, Fp64Input(big), {"margin"});
    auto m = out.at("margin").data<double>();
    ASSERT_EQ(m.size(), raw.values.size() * kCopies);
    for (size_t i = 0; i < m.size(); ++i) {
      ASSERT_LE(RelDiff(m[i], raw.values[i % raw.values.size()]), kTol) << "value " << i;
    }
  }
}

TEST(LightgbmFixtures, CategoricalEdgeRowsAndMissingTypes) {
  const LightgbmModel cat = MustParse(ReadText(FixtureRoot() / "categorical_binary" / "model.txt"));
  EXPECT_EQ(cat.ensemble.num_features, 5);
  EXPECT_FALSE(cat.ensemble.category_sets.empty());
  bool categorical = false;
  for (const TreeNode& n : cat.ensemble.nodes) categorical |= n.is_categorical();
  EXPECT_TRUE(categorical);
  const LightgbmModel nan =
      MustParse(ReadText(FixtureRoot() / "regression_nan_missing" / "model.txt"));
  bool none = false, nan_kind = false;
  for (const TreeNode& n : nan.ensemble.nodes) {
    if (n.is_leaf()) continue;
    none |= n.missing == MissingKind::kNone;
    nan_kind |= n.missing == MissingKind::kNaN;
  }
  EXPECT_TRUE(none);
  EXPECT_TRUE(nan_kind);
}

// ---------------------------------------------------------------------------------------------
// Hand-made models.

// A model with one 3-leaf tree: node 0 splits feature 0 at 0.5 (left -> node 1, right -> leaf
// 1), node 1 splits feature 1 at 1.5 (left -> leaf 0, right -> leaf 2).
std::string Header(const std::string& objective = "regression", int num_class = 1,
                   int per_iteration = 1) {
  return "tree\nversion=v4\nnum_class=" + std::to_string(num_class) +
         "\nnum_tree_per_iteration=" + std::to_string(per_iteration) +
         "\nlabel_index=0\nmax_feature_idx=2\nobjective=" + objective +
         "\nfeature_names=a b c\nfeature_infos=none none none\n\n";
}
std::string SmallTree(int index = 0, const std::string& decision = "2 8",
                      const std::string& leaves = "1 2 3") {
  return "Tree=" + std::to_string(index) +
         "\nnum_leaves=3\nnum_cat=0\nsplit_feature=0 1\nsplit_gain=1 1\n"
         "threshold=0.5 1.5\ndecision_type=" +
         decision + "\nleft_child=1 -1\nright_child=-2 -3\nleaf_value=" + leaves +
         "\nleaf_weight=1 1 1\nleaf_count=1 1 1\ninternal_value=0 0\ninternal_weight=1 1\n"
         "internal_count=2 2\nis_linear=0\nshrinkage=1\n\n\n";
}
const char kEnd[] =
    "end of trees\n\nfeature_importances:\na=1\n\nparameters:\n[boosting: gbdt]\n"
    "end of parameters\n\npandas_categorical:null\n";

std::string SmallModel() { return Header() + SmallTree() + kEnd; }

double Predict1(const LightgbmModel& m, std::vector<double> row, int group = 0) {
  std::vector<double> out(static_cast<size_t>(m.ensemble.num_groups));
  std::vector<double> scratch;
  const double* x =
      LightgbmInputs(m.categorical_features, m.ensemble.num_features, row.data(), 1, &scratch);
  ReferencePredictMargin<double>(m.ensemble, x, 1, out.data());
  return out[static_cast<size_t>(group)];
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  CHECK_MSG(at != std::string::npos, from);
  return s.replace(at, from.size(), to);
}

TEST(LightgbmModel, ParsesTheHeaderAndATree) {
  const LightgbmModel m = MustParse(SmallModel());
  EXPECT_EQ(m.version, "v4");
  EXPECT_EQ(m.objective.name, "regression");
  EXPECT_EQ(m.ensemble.num_features, 3);
  EXPECT_EQ(m.ensemble.precision, Precision::kFloat64);
  EXPECT_EQ(m.ensemble.comparison, Comparison::kLessEqual);
  EXPECT_EQ(m.feature_names, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(m.ensemble.trees.size(), 1u);
  EXPECT_EQ(m.ensemble.trees[0].num_nodes, 5u);
  EXPECT_EQ(Predict1(m, {0.5, 1.5, 0}), 1);  // x <= threshold goes left
  EXPECT_EQ(Predict1(m, {0.5, 1.6, 0}), 3);
  EXPECT_EQ(Predict1(m, {0.51, 0, 0}), 2);
}

TEST(LightgbmModel, MissingTypes) {
  // decision_type 0 = None, default right: NaN is compared as 0.0 (0 <= 0.5 goes left).
  LightgbmModel none = MustParse(Header() + SmallTree(0, "0 0", "1 2 3") + kEnd);
  EXPECT_EQ(Predict1(none, {kNaN, kNaN, 0}), 1);
  none = MustParse(Replace(Header() + SmallTree(0, "0 0") + kEnd, "threshold=0.5", "threshold=-1"));
  EXPECT_EQ(Predict1(none, {kNaN, 0, 0}), 2);  // 0 > -1 goes right
  // Node 0: NaN type (8), default right; node 1: NaN type, default left (10).
  const LightgbmModel nan = MustParse(Header() + SmallTree(0, "8 10") + kEnd);
  EXPECT_EQ(Predict1(nan, {kNaN, 0, 0}), 2);
  EXPECT_EQ(Predict1(nan, {0, kNaN, 0}), 1);
  EXPECT_EQ(Predict1(nan, {0, 0, 0}), 1);
  // Zero type (4), default right, threshold -1: 0, -0.0, tiny values and NaN go right; others
  // compare.
  const LightgbmModel zero =
      MustParse(Replace(Header() + SmallTree(0, "4 0") + kEnd, "threshold=0.5", "threshold=-1"));
  EXPECT_EQ(Predict1(zero, {0.0, 0, 0}), 2);
  EXPECT_EQ(Predict1(zero, {-0.0, 0, 0}), 2);
  EXPECT_EQ(Predict1(zero, {1e-36, 0, 0}), 2);
  EXPECT_EQ(Predict1(zero, {kNaN, 0, 0}), 2);
  EXPECT_EQ(Predict1(zero, {-2, 0, 0}), 1);
  // Zero type, default left (6), threshold -5: 1 compares (right), 0 follows the default (left).
  const LightgbmModel zero_left =
      MustParse(Replace(Header() + SmallTree(0, "6 0") + kEnd, "threshold=0.5", "threshold=-5"));
  EXPECT_EQ(Predict1(zero_left, {0, 0, 0}), 1);
  EXPECT_EQ(Predict1(zero_left, {1, 0, 0}), 2);
}

TEST(LightgbmModel, CategoricalSplits) {
  // Node 0 is categorical on feature 0 with set 0 = {1, 3, 33}; node 1 numeric.
  std::string text = Header() + SmallTree(0, "1 2") + kEnd;
  text = Replace(text, "num_cat=0", "num_cat=1");
  text = Replace(text, "threshold=0.5", "threshold=0");
  text = Replace(text, "is_linear=0", "cat_boundaries=0 2\ncat_threshold=10 2\nis_linear=0");
  const LightgbmModel m = MustParse(text);
  ASSERT_EQ(m.ensemble.category_sets.size(), 1u);
  EXPECT_EQ(Predict1(m, {1, 0, 0}), 1);
  EXPECT_EQ(Predict1(m, {3, 0, 0}), 1);
  EXPECT_EQ(Predict1(m, {33, 0, 0}), 1);
  EXPECT_EQ(Predict1(m, {33.9, 0, 0}), 1);  // truncated to 33
  EXPECT_EQ(Predict1(m, {2, 0, 0}), 2);
  EXPECT_EQ(Predict1(m, {0, 0, 0}), 2);
  EXPECT_EQ(Predict1(m, {64, 0, 0}), 2);    // beyond the bitset
  EXPECT_EQ(Predict1(m, {kNaN, 0, 0}), 2);  // NaN goes right
  EXPECT_EQ(Predict1(m, {-1, 0, 0}), 2);    // negative goes right
  EXPECT_EQ(Predict1(m, {-0.5, 0, 0}), 2);  // (int)-0.5 is category 0, not in the set
  EXPECT_EQ(m.categorical_features, (std::vector<uint32_t>{0}));
  EXPECT_EQ(Predict1(m, {1e10, 0, 0}), 2);  // not an int: right
  EXPECT_EQ(Predict1(m, {std::numeric_limits<double>::infinity(), 0, 0}), 2);

  // With category 0 in the set, values in (-1, 0) go left as LightGBM's (int)x makes them 0
  // (the categorical_binary fixture's row 7 has f0 = -0.5).
  const LightgbmModel zero = MustParse(Replace(text, "cat_threshold=10 2", "cat_threshold=11 2"));
  EXPECT_EQ(Predict1(zero, {-0.5, 0, 0}), 1);
  EXPECT_EQ(Predict1(zero, {-0.999, 0, 0}), 1);
  EXPECT_EQ(Predict1(zero, {-0.0, 0, 0}), 1);
  EXPECT_EQ(Predict1(zero, {-1, 0, 0}), 2);
  EXPECT_EQ(Predict1(zero, {kNaN, 0, 0}), 2);

  // A feature split both ways is refused (LightGBM never writes one).
  auto mixed = ParseLightgbmModel(Replace(text, "split_feature=0 1", "split_feature=0 0"));
  EXPECT_EQ(mixed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mixed.status().message().find("feature 0 has both categorical and numeric splits"),
            std::string::npos)
      << mixed.status().ToString();
}

TEST(LightgbmModel, SingleLeafTreesAndClasses) {
  const std::string leaf1 =
      "Tree=1\nnum_leaves=1\nnum_cat=0\nsplit_feature=\nsplit_gain=\n"
      "threshold=\ndecision_type=\nleft_child=\nright_child=\n"
      "leaf_value=-0.25\nleaf_weight=\nleaf_count=\ninternal_value=\n"
      "internal_weight=\ninternal_count=\nis_linear=0\nshrinkage=1\n\n\n";
  const LightgbmModel m =
      MustParse(Header("multiclass num_class:2", 2, 2) + SmallTree(0) + leaf1 +
                SmallTree(2, "2 8", "10 20 30") + Replace(leaf1, "Tree=1", "Tree=3") + kEnd);
  EXPECT_EQ(m.num_iterations, 2);
  EXPECT_EQ(m.ensemble.num_groups, 2);
  EXPECT_EQ(Predict1(m, {0, 0, 0}, 0), 11);
  EXPECT_EQ(Predict1(m, {0, 0, 0}, 1), -0.5);
}

TEST(LightgbmObjective, Transforms) {
  auto apply = [](const std::string& text, std::vector<double> v, int64_t groups = 1) {
    auto o = ParseLightgbmObjective(text);
    CHECK_MSG(o.ok(), o.status().ToString());
    ApplyLightgbmTransform(*o, static_cast<int64_t>(v.size()) / groups, groups, v);
    return v;
  };
  EXPECT_EQ(apply("binary sigmoid:2", {0.3})[0], 1.0 / (1.0 + std::exp(-2 * 0.3)));
  EXPECT_EQ(apply("cross_entropy", {0.3})[0], 1.0 / (1.0 + std::exp(-0.3)));
  EXPECT_EQ(apply("xentropy", {0.3})[0], 1.0 / (1.0 + std::exp(-0.3)));
  EXPECT_EQ(apply("cross_entropy_lambda", {0.3})[0], std::log1p(std::exp(0.3)));
  EXPECT_EQ(apply("poisson", {0.3})[0], std::exp(0.3));
  EXPECT_EQ(apply("gamma", {0.3})[0], std::exp(0.3));
  EXPECT_EQ(apply("tweedie", {0.3})[0], std::exp(0.3));
  EXPECT_EQ(apply("regression", {0.3})[0], 0.3);
  EXPECT_EQ(apply("regression sqrt", {-3})[0], -9);
  EXPECT_EQ(apply("huber sqrt", {3})[0], 9);
  EXPECT_EQ(apply("quantile", {-3})[0], -3);
  EXPECT_EQ(apply("lambdarank", {-3})[0], -3);
  EXPECT_EQ(apply("rank_xendcg", {-3})[0], -3);
  const auto ova = apply("multiclassova num_class:2 sigmoid:1", {0.0, 1.0}, 2);
  EXPECT_EQ(ova[0], 0.5);
  EXPECT_EQ(ova[1], 1.0 / (1.0 + std::exp(-1.0)));
  const auto soft = apply("multiclass num_class:2", {1.0, 2.0}, 2);
  EXPECT_DOUBLE_EQ(soft[0], std::exp(-1.0) / (std::exp(-1.0) + 1));
  EXPECT_DOUBLE_EQ(soft[0] + soft[1], 1.0);

  EXPECT_EQ(ParseLightgbmObjective("foo").status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(ParseLightgbmObjective("binary").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseLightgbmObjective("binary sigmoid:-1").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseLightgbmObjective("multiclass").status().code(), StatusCode::kInvalidArgument);
}

TEST(LightgbmLoaded, AverageOutputAndSignature) {
  TempDir dir;
  const std::string text =
      Replace(Header("binary sigmoid:1") + SmallTree(0) + SmallTree(1, "2 8", "3 4 5") + kEnd,
              "feature_names", "average_output\nfeature_names");
  WriteText(dir.path() / "model.txt", text);
  auto model = MustLoad(dir.path() / "model.txt");
  const auto& sig = model->signature();
  EXPECT_EQ(sig.properties.at("num_classes"), "2");
  EXPECT_EQ(sig.properties.at("num_trees"), "2");
  EXPECT_EQ(sig.properties.at("objective"), "binary");
  Tensor x("input", DataType::kFp64, {1, 3});  // zeros: leaves 1 and 3
  auto out = RunModel(*model, x, {"margin", "probabilities", "label"});
  EXPECT_EQ(out.at("margin").data<double>()[0], 4.0);  // raw score: the sum
  EXPECT_EQ(out.at("probabilities").data<double>()[1], 1.0 / (1.0 + std::exp(-2.0)));
  EXPECT_EQ(out.at("label").data<int64_t>()[0], 1);

  // config.yaml may rename the single FP64 input; FP32 is refused.
  config::ModelConfig config;
  config.inputs.push_back(config::TensorSpec{"features", DataType::kFp64, {-1, 3}});
  EXPECT_EQ(MustLoad(dir.path() / "model.txt", config)->signature().inputs[0].name, "features");
  config.inputs[0].dtype = DataType::kFp32;
  auto refused = LoadLightgbmModel(backend::LoadRequest{"m", 1, dir.path() / "model.txt", &config},
                                   1 << 20, nullptr);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("FP64"), std::string::npos);
  // FP32 tensors are not accepted by Execute (the serving core widens them first).
  std::vector<Tensor> in;
  in.emplace_back("input", DataType::kFp32, tensor::Shape{1, 3});
  EXPECT_EQ(model->Execute(in, {}).status().code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Corrupt files.

void ExpectError(const std::string& text, StatusCode code, const std::string& fragment) {
  auto m = ParseLightgbmModel(text);
  ASSERT_FALSE(m.ok()) << "accepted a model that should fail with: " << fragment;
  EXPECT_EQ(m.status().code(), code) << m.status().ToString();
  EXPECT_NE(m.status().message().find(fragment), std::string::npos) << m.status().ToString();
}

TEST(LightgbmModel, RefusesCorruptFiles) {
  const std::string good = SmallModel();
  ExpectError("{\"learner\": {}}", StatusCode::kInvalidArgument, "not a LightGBM text model");
  ExpectError(good.substr(0, good.find("leaf_value=") + 14), StatusCode::kDataLoss, "truncated");
  ExpectError(Replace(good, "decision_type=2 8", "decision_type=2 12"),
              StatusCode::kInvalidArgument, "Tree=0: decision_type[1] is 12: missing type 3");
  ExpectError(Replace(good, "decision_type=2 8", "decision_type=2 99"),
              StatusCode::kInvalidArgument, "Tree=0: decision_type[1] is 99");
  ExpectError(Replace(good, "left_child=1 -1", "left_child=1 -9"), StatusCode::kInvalidArgument,
              "Tree=0: left_child[1] is -9, outside [-3, 1]");
  ExpectError(Replace(good, "right_child=-2 -3", "right_child=-2 2"), StatusCode::kInvalidArgument,
              "Tree=0: right_child[1] is 2, outside [-3, 1]");
  ExpectError(Replace(good, "right_child=-2 -3", "right_child=-2 1"), StatusCode::kInvalidArgument,
              "Tree=0: right_child[1] leads to split node 1 again");
  ExpectError(Replace(good, "right_child=-2 -3", "right_child=-2 0"), StatusCode::kInvalidArgument,
              "Tree=0: right_child[1] leads to split node 0 again");
  ExpectError(Replace(good, "right_child=-2 -3", "right_child=-2 -1"), StatusCode::kInvalidArgument,
              "Tree=0: right_child[1] leads to leaf 0 again");
  ExpectError(Replace(good, "threshold=0.5 1.5", "threshold=0.5 1.5 2.5"),
              StatusCode::kInvalidArgument,
              "Tree=0: threshold has 3 entries, expected 2 (num_leaves 3)");
  ExpectError(Replace(good, "leaf_value=1 2 3", "leaf_value=1 2"), StatusCode::kInvalidArgument,
              "Tree=0: leaf_value has 2 entries, expected 3");
  ExpectError(Replace(good, "leaf_value=1 2 3", "leaf_value=1 x 3"), StatusCode::kInvalidArgument,
              "Tree=0: leaf_value[1] 'x' is not a number");
  ExpectError(Replace(good, "split_feature=0 1", "split_feature=0 3"), StatusCode::kInvalidArgument,
              "Tree=0: split_feature[1] is 3, but max_feature_idx is 2");
  ExpectError(Replace(good, "num_leaves=3", "num_leaves=2000000000"), StatusCode::kInvalidArgument,
              "Tree=0: num_leaves is 2000000000, outside");
  ExpectError(Replace(good, "objective=regression", "objective=foo_bar"),
              StatusCode::kUnimplemented, "unknown LightGBM objective 'foo_bar'");
  ExpectError(Replace(good, "is_linear=0", "is_linear=1"), StatusCode::kUnimplemented,
              "Tree=0: linear trees (is_linear=1) are not supported");
  ExpectError(Replace(good, "Tree=0", "Tree=1"), StatusCode::kInvalidArgument,
              "'Tree=1', expected Tree=0");
  ExpectError(Replace(good, "max_feature_idx=2\n", ""), StatusCode::kInvalidArgument,
              "missing field 'max_feature_idx'");
  ExpectError(Replace(good, "feature_names=a b c", "feature_names=a b"),
              StatusCode::kInvalidArgument, "feature_names has 2 names");
  ExpectError(Replace(good, "feature_names=", "tree_sizes=10 20\nfeature_names="),
              StatusCode::kDataLoss, "tree_sizes lists 2 trees, but the file has 1");
  ExpectError(Replace(good, "shrinkage=1", "shrinkage=1\nshrinkage=2"),
              StatusCode::kInvalidArgument, "Tree=0: field 'shrinkage' appears twice");
  ExpectError(Header() + kEnd, StatusCode::kInvalidArgument, "no trees");
  ExpectError(Replace(good, "objective=regression", "objective=multiclass num_class:3"),
              StatusCode::kInvalidArgument, "does not agree with num_class 1");

  // Categorical: threshold must index cat_boundaries, which must agree with cat_threshold.
  std::string cat = Header() + SmallTree(0, "1 2") + kEnd;
  cat = Replace(cat, "num_cat=0", "num_cat=1");
  cat = Replace(cat, "threshold=0.5", "threshold=0");
  cat = Replace(cat, "is_linear=0", "cat_boundaries=0 2\ncat_threshold=10 2\nis_linear=0");
  MustParse(cat);
  ExpectError(Replace(cat, "threshold=0 ", "threshold=1 "), StatusCode::kInvalidArgument,
              "Tree=0: threshold[0] of a categorical split is 1");
  ExpectError(Replace(cat, "cat_boundaries=0 2", "cat_boundaries=0 3"),
              StatusCode::kInvalidArgument, "Tree=0: cat_threshold has 2 entries, expected 3");
  ExpectError(Replace(cat, "cat_boundaries=0 2", "cat_boundaries=1 2"),
              StatusCode::kInvalidArgument, "Tree=0: cat_boundaries[0] is 1, expected 0");
  ExpectError(Replace(cat, "cat_boundaries=0 2", "cat_boundaries=0 999999999999"),
              StatusCode::kInvalidArgument, "cat_threshold has fewer entries");
  ExpectError(Replace(cat, "cat_boundaries=0 2", "cat_boundaries=0"), StatusCode::kInvalidArgument,
              "Tree=0: cat_boundaries has 1 entries, expected 2");
}

TEST(LightgbmModel, EveryTruncationIsRefusedOrParses) {
  // No prefix of a real model crashes; those that cut before `end of trees` are refused.
  const std::string text = ReadText(FixtureRoot() / "categorical_binary" / "model.txt");
  const size_t end = text.find("end of trees");
  for (size_t n = 0; n < end; n += 97) {
    auto m = ParseLightgbmModel(std::string_view(text).substr(0, n));
    EXPECT_FALSE(m.ok()) << n;
  }
  EXPECT_TRUE(ParseLightgbmModel(std::string_view(text).substr(0, end + 13)).ok());
}

TEST(LightgbmLoaded, FileErrorsNameThePath) {
  TempDir dir;
  config::ModelConfig config;
  auto missing = LoadLightgbmModel(backend::LoadRequest{"m", 1, dir.path() / "model.txt", &config},
                                   1 << 20, nullptr);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  WriteText(dir.path() / "model.txt",
            Replace(SmallModel(), "decision_type=2 8", "decision_type=2 12"));
  auto bad = LoadLightgbmModel(backend::LoadRequest{"m", 1, dir.path() / "model.txt", &config},
                               1 << 20, nullptr);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message().rfind((dir.path() / "model.txt").string(), 0), 0u);
  auto big = LoadLightgbmModel(backend::LoadRequest{"m", 1, dir.path() / "model.txt", &config}, 10,
                               nullptr);
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace inferd::backends::forest::testing
