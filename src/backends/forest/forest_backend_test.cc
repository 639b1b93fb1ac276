// ForestBackend: model files, signatures per objective, requested outputs, config checks, the
// tree-walk semantics on hand-made models, and concurrent Execute.
#include "backends/forest/forest_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "backends/forest/forest_test_util.h"

namespace inferd::backends::forest::testing {
namespace {

namespace fs = std::filesystem;
using base::StatusCode;
using config::TensorSpec;
using tensor::DataType;
using tensor::Shape;
using tensor::Tensor;

std::unique_ptr<ForestBackend> NewBackend() {
  auto b = ForestBackend::Create({});
  CHECK(b.ok());
  return std::move(b).value();
}

base::StatusOr<std::unique_ptr<backend::LoadedModel>> LoadPath(const fs::path& path,
                                                               const config::ModelConfig& config) {
  return NewBackend()->Load(backend::LoadRequest{"m", 1, path, &config});
}

std::unique_ptr<backend::LoadedModel> MustLoad(const fs::path& path) {
  auto m = LoadPath(path, config::ModelConfig{});
  CHECK_MSG(m.ok(), m.status().ToString());
  return std::move(m).value();
}

std::unique_ptr<backend::LoadedModel> LoadFixture(const std::string& name) {
  return MustLoad(XgboostFixtureRoot() / name / "model.json");
}

// Loads a model document written to a temp file.
std::unique_ptr<backend::LoadedModel> LoadText(const std::string& text) {
  TempDir dir;
  WriteText(dir.path() / "model.json", text);
  return MustLoad(dir.path() / "model.json");
}

Tensor Rows(const std::vector<std::vector<float>>& rows, const std::string& name = "input") {
  const int64_t cols = rows.empty() ? 0 : static_cast<int64_t>(rows[0].size());
  Tensor t(name, DataType::kFp32, {static_cast<int64_t>(rows.size()), cols});
  auto data = t.data<float>();
  for (size_t r = 0; r < rows.size(); ++r) {
    std::copy(rows[r].begin(), rows[r].end(), data.begin() + static_cast<int64_t>(r) * cols);
  }
  return t;
}

std::vector<Tensor> RunModel(const backend::LoadedModel& m, const Tensor& input,
                             std::vector<std::string> requested = {}) {
  auto out = m.Execute(std::span<const Tensor>(&input, 1), requested);
  CHECK_MSG(out.ok(), out.status().ToString());
  return std::move(out).value();
}

std::vector<std::string> Names(const std::vector<TensorSpec>& specs) {
  std::vector<std::string> n;
  for (const auto& s : specs) n.push_back(s.name);
  return n;
}

std::vector<std::string> Names(const std::vector<Tensor>& tensors) {
  std::vector<std::string> n;
  for (const auto& t : tensors) n.push_back(t.name());
  return n;
}

TEST(ForestBackendTest, CreateChecksOptions) {
  EXPECT_EQ(ForestBackend::Create({.threads = -1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ForestBackend::Create({.threads = 0, .max_model_file_bytes = 0}).status().code(),
            StatusCode::kInvalidArgument);
  auto b = ForestBackend::Create({.threads = 4});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->name(), "forest");
}

TEST(ForestBackendTest, FindModelFilePrefersJsonThenUbj) {
  TempDir dir;
  auto backend = NewBackend();
  EXPECT_EQ(backend->FindModelFile(dir.path()), std::nullopt);
  WriteText(dir.path() / "model.ubj", "x");
  EXPECT_EQ(backend->FindModelFile(dir.path()), dir.path() / "model.ubj");
  WriteText(dir.path() / "model.json", "x");
  EXPECT_EQ(backend->FindModelFile(dir.path()), dir.path() / "model.json");
  EXPECT_EQ(backend->FindModelFile(dir.path() / "absent"), std::nullopt);
}

TEST(ForestBackendTest, LoadMissingFileIsNotFound) {
  auto m = LoadPath("/nonexistent/1/model.json", config::ModelConfig{});
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(m.status().message(), "/nonexistent/1/model.json: no such file");
}

TEST(ForestBackendTest, BinaryLogisticSignature) {
  auto m = LoadFixture("binary_logistic");
  const auto& sig = m->signature();
  EXPECT_EQ(sig.platform, "xgboost_json");
  ASSERT_EQ(sig.inputs.size(), 1u);
  EXPECT_EQ(sig.inputs[0].name, "input");
  EXPECT_EQ(sig.inputs[0].dtype, DataType::kFp32);
  EXPECT_EQ(sig.inputs[0].shape, (Shape{-1, 30}));
  ASSERT_EQ(Names(sig.outputs), (std::vector<std::string>{"probabilities", "label", "margin"}));
  EXPECT_EQ(sig.outputs[0].shape, (Shape{-1, 2}));
  EXPECT_EQ(sig.outputs[0].dtype, DataType::kFp32);
  EXPECT_EQ(sig.outputs[1].dtype, DataType::kInt64);
  EXPECT_EQ(sig.outputs[1].shape, (Shape{-1}));
  EXPECT_TRUE(sig.outputs[0].default_output);
  EXPECT_TRUE(sig.outputs[1].default_output);
  EXPECT_FALSE(sig.outputs[2].default_output);
  EXPECT_EQ(sig.outputs[2].shape, (Shape{-1}));
  const std::map<std::string, std::string> props = {{"objective", "binary:logistic"},
                                                    {"num_features", "30"},
                                                    {"num_classes", "2"},
                                                    {"num_trees", "15"},
                                                    {"base_score", "5E-1"},
                                                    {"format_version", "1.7.4"},
                                                    {"booster", "gbtree"}};
  EXPECT_EQ(sig.properties, props);
  EXPECT_EQ(MustLoad(XgboostFixtureRoot() / "binary_logistic" / "model.ubj")->signature().platform,
            "xgboost_ubj");
}

TEST(ForestBackendTest, OutputsPerObjective) {
  struct Case {
    std::string fixture;
    std::vector<std::string> outputs;
    Shape margin_shape;
    std::string num_classes;
  };
  for (const Case& c : std::vector<Case>{
           {"multi_softprob", {"probabilities", "label", "margin"}, {-1, 3}, "3"},
           {"multi_softmax", {"label", "probabilities", "margin"}, {-1, 3}, "3"},
           {"binary_hinge", {"label", "prediction", "margin"}, {-1}, "2"},
           {"reg_squarederror", {"prediction", "margin"}, {-1}, "0"},
           {"binary_logitraw", {"prediction", "margin"}, {-1}, "0"},
           {"count_poisson", {"prediction", "margin"}, {-1}, "0"},
           {"v3_1_format_multi", {"probabilities", "label", "margin"}, {-1, 3}, "3"}}) {
    SCOPED_TRACE(c.fixture);
    auto m = LoadFixture(c.fixture);
    const auto& sig = m->signature();
    EXPECT_EQ(Names(sig.outputs), c.outputs);
    EXPECT_EQ(sig.outputs.back().shape, c.margin_shape);
    EXPECT_FALSE(sig.outputs.back().default_output);
    EXPECT_EQ(sig.properties.at("num_classes"), c.num_classes);
    for (const auto& o : sig.outputs) {
      EXPECT_EQ(o.dtype, o.name == "label" ? DataType::kInt64 : DataType::kFp32) << o.name;
    }
  }
}

TEST(ForestBackendTest, RequestedOutputs) {
  auto m = LoadFixture("multi_softprob");
  Tensor x = Rows({{5.1f, 3.5f, 1.4f, 0.2f}, {6.7f, 3.0f, 5.2f, 2.3f}});
  auto defaults = RunModel(*m, x);
  EXPECT_EQ(Names(defaults), (std::vector<std::string>{"probabilities", "label"}));
  EXPECT_EQ(defaults[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(defaults[1].shape(), (Shape{2}));
  EXPECT_EQ(defaults[1].data<int64_t>()[0], 0);
  EXPECT_EQ(defaults[1].data<int64_t>()[1], 2);

  auto margin = RunModel(*m, x, {"margin"});
  ASSERT_EQ(Names(margin), (std::vector<std::string>{"margin"}));
  EXPECT_EQ(margin[0].shape(), (Shape{2, 3}));

  auto reordered = RunModel(*m, x, {"label", "margin", "probabilities"});
  EXPECT_EQ(Names(reordered), (std::vector<std::string>{"label", "margin", "probabilities"}));

  std::vector<std::string> unknown = {"proba"};
  auto bad = m->Execute(std::span<const Tensor>(&x, 1), unknown);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "unknown output 'proba'");
}

TEST(ForestBackendTest, ExecuteChecksItsInput) {
  auto m = LoadFixture("multi_softprob");
  auto run = [&](const std::vector<Tensor>& in) {
    return m->Execute(in, std::vector<std::string>{}).status();
  };
  EXPECT_EQ(run({}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run({Rows({{1, 2, 3}})}).message(), "input 'input' must have shape [N, 4], got [1,3]");
  EXPECT_EQ(run({Tensor("input", DataType::kFp64, {1, 4})}).message(),
            "input 'input' must be FP32, got FP64");
  EXPECT_EQ(run({Rows({{1, 2, 3, 4}}), Rows({{1, 2, 3, 4}})}).code(), StatusCode::kInvalidArgument);
  auto empty = RunModel(*m, Tensor("input", DataType::kFp32, {0, 4}));
  ASSERT_EQ(empty.size(), 2u);
  EXPECT_EQ(empty[0].shape(), (Shape{0, 3}));
  EXPECT_EQ(empty[1].shape(), (Shape{0}));
}

TEST(ForestBackendTest, ConfigInputsAndOutputs) {
  const fs::path path = XgboostFixtureRoot() / "binary_logistic" / "model.json";
  config::ModelConfig cfg;
  cfg.inputs = {TensorSpec{"features", DataType::kFp32, {-1, 30}}};
  cfg.outputs = {TensorSpec{"probabilities", DataType::kFp32, {-1, 2}}};
  auto m = LoadPath(path, cfg);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->signature().inputs[0].name, "features");
  EXPECT_EQ((*m)->signature().inputs[0].shape, (Shape{-1, 30}));

  cfg.inputs = {TensorSpec{"features", DataType::kFp32, {30}}};  // no batch dimension
  EXPECT_TRUE(LoadPath(path, cfg).ok());

  cfg.inputs = {TensorSpec{"features", DataType::kFp32, {-1, 31}}};
  auto bad = LoadPath(path, cfg);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), path.string() +
                                        ": config input 'features' has shape [-1,31], but the "
                                        "model takes [-1, 30] (30 features)");

  cfg.inputs = {TensorSpec{"features", DataType::kInt32, {-1, 30}}};
  EXPECT_NE(LoadPath(path, cfg).status().message().find("forest models take FP32"),
            std::string::npos);

  cfg.inputs = {TensorSpec{"a", DataType::kFp32, {-1, 30}}, TensorSpec{"b", DataType::kFp32, {}}};
  EXPECT_NE(LoadPath(path, cfg).status().message().find("one input, config lists 2"),
            std::string::npos);

  cfg.inputs.clear();
  cfg.outputs = {TensorSpec{"prediction", DataType::kFp32, {-1}}};
  bad = LoadPath(path, cfg);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("config output 'prediction' is not an output of this "
                                        "model (probabilities, label, margin)"),
            std::string::npos);
}

// Semantics on a hand-made stump: x < threshold goes left, x == threshold right, NaN follows
// default_left, infinities compare normally.
TEST(ForestBackendTest, SplitSemantics) {
  for (bool default_left : {true, false}) {
    auto m = LoadText(MakeModelJson("reg:squarederror", 2, 0, "0E0",
                                    {Stump(1, 0.5f, -1.0f, 1.0f, default_left)}, {0}));
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    auto out = RunModel(*m, Rows({{9, 0.25f},
                                  {9, 0.5f},
                                  {9, 0.75f},
                                  {9, nan},
                                  {9, -inf},
                                  {9, inf},
                                  {nan, std::nextafter(0.5f, 0.0f)}}));
    const std::vector<float> want = {-1, 1, 1, default_left ? -1.0f : 1.0f, -1, 1, -1};
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(std::vector<float>(out[0].data<float>().begin(), out[0].data<float>().end()), want);
  }
}

TEST(ForestBackendTest, BaseMarginAndSummationOrder) {
  // float32, tree order: (((0.5 + 1e8) + 1) + -1e8) = 0 in float32; a double sum would give 1.5.
  auto m = LoadText(MakeModelJson("reg:squarederror", 1, 0, "5E-1",
                                  {Leaf(1e8f), Leaf(1.0f), Leaf(-1e8f)}, {0, 0, 0}));
  auto out = RunModel(*m, Rows({{0}}));
  EXPECT_EQ(out[0].data<float>()[0], ((0.5f + 1e8f) + 1.0f) + -1e8f);
}

TEST(ForestBackendTest, BinaryLabelTiesGoToZero) {
  // margin exactly 0 -> p = 0.5 -> probabilities [0.5, 0.5] -> label 0.
  auto m = LoadText(
      MakeModelJson("binary:logistic", 1, 0, "5E-1", {Stump(0, 0.0f, 0.0f, 1e-3f, false)}, {0}));
  auto out = RunModel(*m, Rows({{-1}, {1}}));
  ASSERT_EQ(Names(out), (std::vector<std::string>{"probabilities", "label"}));
  EXPECT_EQ(out[0].data<float>()[0], 0.5f);
  EXPECT_EQ(out[0].data<float>()[1], 0.5f);
  EXPECT_EQ(out[1].data<int64_t>()[0], 0);
  EXPECT_EQ(out[1].data<int64_t>()[1], 1);
}

TEST(ForestBackendTest, MultiClassTiesGoToTheLowestClass) {
  for (const char* objective : {"multi:softprob", "multi:softmax"}) {
    SCOPED_TRACE(objective);
    auto m = LoadText(
        MakeModelJson(objective, 1, 3, "5E-1", {Leaf(0.0f), Leaf(2.0f), Leaf(2.0f)}, {0, 1, 2}));
    auto out = RunModel(*m, Rows({{0}}), {"label", "probabilities", "margin"});
    EXPECT_EQ(out[0].data<int64_t>()[0], 1);
    EXPECT_EQ(out[2].data<float>()[0], 0.5f);
    EXPECT_EQ(out[2].data<float>()[1], 2.5f);
    EXPECT_FLOAT_EQ(out[1].data<float>()[1], out[1].data<float>()[2]);
  }
}

TEST(ForestBackendTest, ConcurrentExecuteGivesTheSameResults) {
  auto m = LoadFixture("multi_softprob_missing");
  auto x = ReadCsv(XgboostFixtureRoot() / "multi_softprob_missing" / "input.csv", true);
  ASSERT_TRUE(x.ok());
  Tensor input("input", DataType::kFp32, {x->rows, x->cols});
  std::copy(x->values.begin(), x->values.end(), input.data<float>().begin());
  const std::vector<std::string> all = {"probabilities", "label", "margin"};
  const auto expected = RunModel(*m, input, all);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto got = m->Execute(std::span<const Tensor>(&input, 1), all);
        if (!got.ok() || got->size() != expected.size()) {
          ++mismatches[t];
          continue;
        }
        for (size_t k = 0; k < expected.size(); ++k) {
          if (!std::equal(expected[k].bytes().begin(), expected[k].bytes().end(),
                          (*got)[k].bytes().begin(), (*got)[k].bytes().end())) {
            ++mismatches[t];
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, (std::vector<int>{0, 0, 0, 0}));
}

}  // namespace
}  // namespace inferd::backends::forest::testing
