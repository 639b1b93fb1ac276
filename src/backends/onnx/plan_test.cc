// The planner's optimizations (fusion, views, arena sharing, blocked layouts) change no result:
// every fixture gives the same outputs planned with and without them, and small graphs built here
// check each rule's edges (a value read twice is not fused away, a runtime bias is not folded...).
#include "backends/onnx/plan.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "backend/model_file.h"
#include "backends/onnx/graph_rewrite.h"
#include "backends/onnx/onnx_model.h"

namespace inferd::backends::onnx {
namespace {

namespace fs = std::filesystem;
using tensor::DataType;
using tensor::Shape;
using tensor::Tensor;

OnnxGraph FixtureGraph(const std::string& name) {
  const fs::path path = fs::path(INFERD_SOURCE_DIR) / "tests/fixtures/onnx" / name / "model.onnx";
  auto info = InspectOnnxModel(backend::ReadModelFile(path, int64_t{1} << 30).value());
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  return info.ok() ? std::move(info->graph) : OnnxGraph{};
}

// Random inputs for the graph's inputs at `batch` (token ids in [0, 50) for INT64 inputs).
std::vector<Tensor> RandomInputs(const OnnxGraph& g, int64_t batch, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> real(-2.0f, 2.0f);
  std::vector<Tensor> out;
  for (int id : g.inputs) {
    const OnnxValue& v = g.values[static_cast<size_t>(id)];
    Shape s = v.shape;
    if (!s.empty() && s[0] < 0) s[0] = batch;
    Tensor t(v.name, *v.dtype, s);
    for (int64_t i = 0; i < t.element_count(); ++i) {
      if (*v.dtype == DataType::kFp32) {
        t.data<float>()[i] = real(rng);
      } else if (*v.dtype == DataType::kInt64) {
        t.data<int64_t>()[i] = static_cast<int64_t>(rng() % 50);
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<Tensor> RunPlan(const OnnxGraph& g, int64_t batch, const std::vector<Tensor>& inputs,
                            const PlanOptions& options, OnnxPlan** keep = nullptr) {
  static std::vector<std::unique_ptr<OnnxPlan>> plans;  // kept for `keep`
  auto plan = OnnxPlan::Create(g, batch, options);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  if (!plan.ok()) return {};
  auto out = (*plan)->Run(inputs);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  if (keep != nullptr) *keep = plan->get();
  plans.push_back(std::move(*plan));
  return out.ok() ? std::move(*out) : std::vector<Tensor>{};
}

void ExpectSame(const std::vector<Tensor>& a, const std::vector<Tensor>& b, double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t o = 0; o < a.size(); ++o) {
    ASSERT_EQ(a[o].shape(), b[o].shape()) << a[o].name();
    ASSERT_EQ(a[o].dtype(), b[o].dtype()) << a[o].name();
    if (a[o].dtype() != DataType::kFp32) {
      EXPECT_EQ(0, std::memcmp(a[o].bytes().data(), b[o].bytes().data(), a[o].byte_size()))
          << a[o].name();
      continue;
    }
    for (int64_t i = 0; i < a[o].element_count(); ++i) {
      const double x = a[o].data<float>()[i], y = b[o].data<float>()[i];
      ASSERT_LE(std::abs(x - y), tol * std::max(1.0, std::abs(y)))
          << a[o].name() << " element " << i;
    }
  }
}

constexpr PlanOptions kNone{false, false, false};

TEST(OnnxPlanTest, OptimizationsChangeNoResultOnAnyFixture) {
  for (const char* f :
       {"mlp_tabular", "mlp_mnist", "cnn_small", "attention_tiny", "op_activations",
        "op_compare_where", "op_conv_pool", "op_elementwise", "op_gemm_matmul", "op_layernorm17",
        "op_pad_tile_expand", "op_reductions", "op_shape_range", "op_slice_split_concat"}) {
    SCOPED_TRACE(f);
    const OnnxGraph g = FixtureGraph(f);
    OnnxGraph rewritten = g;
    RewriteGraph(&rewritten);
    for (int64_t batch : {1, 5}) {
      const auto inputs = RandomInputs(g, batch, 7);
      ExpectSame(RunPlan(rewritten, batch, inputs, {}), RunPlan(g, batch, inputs, kNone), 1e-5);
    }
  }
}

TEST(OnnxPlanTest, FusesBatchNormBiasAndActivationAndMakesViews) {
  const OnnxGraph cnn = FixtureGraph("cnn_small");
  auto plan = OnnxPlan::Create(cnn, 2);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  const auto steps = (*plan)->Describe();
  // conv+bn+relu x3, two pools, the global pool, the Gemm; the zero Pad and Flatten are views.
  ASSERT_EQ(steps.size(), 7u);
  EXPECT_EQ(steps[0].rfind("Conv '/conv1/Conv' + BatchNormalization '/bn1/BatchNormalization' + "
                           "Relu '/relu/Relu'",
                           0),
            0u)
      << steps[0];
  for (const auto& s : steps) {
    EXPECT_EQ(s.find("Pad '"), std::string::npos) << s;
    EXPECT_EQ(s.find("Flatten"), std::string::npos) << s;
  }
  auto unfused = OnnxPlan::Create(cnn, 2, kNone);
  ASSERT_TRUE(unfused.ok());
  EXPECT_EQ((*unfused)->steps(), 15u);

  const OnnxGraph mlp_graph = FixtureGraph("mlp_tabular");  // outlives its plan
  auto mlp = OnnxPlan::Create(mlp_graph, 1);
  ASSERT_TRUE(mlp.ok());
  const auto mlp_steps = (*mlp)->Describe();
  ASSERT_EQ(mlp_steps.size(), 3u);
  EXPECT_NE(mlp_steps[0].find("Gemm '/net/net.0/Gemm' + Relu"), std::string::npos) << mlp_steps[0];
}

TEST(OnnxPlanTest, DecomposedLayerNormAndGeluBecomeOneNodeEach) {
  OnnxGraph g = FixtureGraph("attention_tiny");
  const size_t before = g.nodes.size();
  const auto rewrites = RewriteGraph(&g);
  ASSERT_EQ(rewrites.size(), 4u) << ::testing::PrintToString(rewrites);
  EXPECT_EQ(rewrites[0].rfind("LayerNorm from '/ln0/ReduceMean' (9 nodes)", 0), 0u) << rewrites[0];
  EXPECT_EQ(rewrites[2].rfind("GELU from '/gelu/Div'", 0), 0u) << rewrites[2];
  EXPECT_EQ(rewrites[3].rfind("LayerNorm from '/ln2/ReduceMean'", 0), 0u) << rewrites[3];
  EXPECT_EQ(g.nodes.size(), before - 3 * 8 - 4);
  auto plan = OnnxPlan::Create(g, 2);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  bool gelu_fused = false;
  for (const auto& s : (*plan)->Describe()) {
    gelu_fused |= s.find("MatMul '/fc1/MatMul' + Add '/fc1/Add' + Gelu") != std::string::npos;
  }
  EXPECT_TRUE(gelu_fused);
  // A decomposed LayerNorm whose centered values are also read elsewhere stays as it is.
  OnnxGraph shared = FixtureGraph("attention_tiny");
  for (size_t i = 0; i < shared.values.size(); ++i) {
    if (shared.values[i].name == "/ln1/Sub_output_0") shared.outputs.push_back(static_cast<int>(i));
  }
  EXPECT_EQ(RewriteGraph(&shared).size(), 3u);
}

// A small graph written out by hand: values by name, constants, nodes.
struct GraphBuilder {
  OnnxGraph g;
  int Value(const std::string& name) {
    for (size_t i = 0; i < g.values.size(); ++i) {
      if (g.values[i].name == name) return static_cast<int>(i);
    }
    OnnxValue v;
    v.name = name;
    g.values.push_back(std::move(v));
    return static_cast<int>(g.values.size() - 1);
  }
  void Input(const std::string& name, Shape shape) {
    const int id = Value(name);
    g.values[static_cast<size_t>(id)].dtype = DataType::kFp32;
    g.values[static_cast<size_t>(id)].shape = std::move(shape);
    g.inputs.push_back(id);
  }
  void Constant(const std::string& name, Shape shape, std::vector<float> data) {
    Tensor t(name, DataType::kFp32, shape);
    std::copy(data.begin(), data.end(), t.data<float>().begin());
    const int id = Value(name);
    g.values[static_cast<size_t>(id)].dtype = DataType::kFp32;
    g.values[static_cast<size_t>(id)].constant = std::move(t);
  }
  OnnxNode& Node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
    OnnxNode n;
    n.op = op;
    n.name = op + std::to_string(g.nodes.size());
    n.opset = 13;
    for (const auto& s : in) n.inputs.push_back(Value(s));
    for (const auto& s : out) n.outputs.push_back(Value(s));
    g.nodes.push_back(std::move(n));
    return g.nodes.back();
  }
  void Output(const std::string& name) { g.outputs.push_back(Value(name)); }
};

std::vector<float> Ramp(size_t n, float start, float step) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = start + step * static_cast<float>(i);
  return v;
}

TEST(OnnxPlanTest, AValueReadElsewhereIsNotFusedAway) {
  GraphBuilder b;
  b.g.opset = 13;
  b.Input("x", {-1, 4});
  b.Constant("w", {4, 3}, Ramp(12, -1.0f, 0.2f));
  b.Constant("bias", {3}, {0.5f, -0.5f, 0.1f});
  b.Node("MatMul", {"x", "w"}, {"mm"});
  b.Node("Add", {"mm", "bias"}, {"pre"});
  b.Node("Relu", {"pre"}, {"act"});
  b.Output("pre");  // the pre-activation is an output too: Relu must not run in place of it
  b.Output("act");
  auto plan = OnnxPlan::Create(b.g, 3);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  const auto steps = (*plan)->Describe();
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_NE(steps[0].find("MatMul 'MatMul0' + Add 'Add1'"), std::string::npos) << steps[0];
  EXPECT_EQ(steps[0].find("Relu"), std::string::npos) << steps[0];
  const auto inputs = RandomInputs(b.g, 3, 11);
  const auto out = RunPlan(b.g, 3, inputs, {});
  ExpectSame(out, RunPlan(b.g, 3, inputs, kNone), 1e-6);
  bool negative = false;
  for (int64_t i = 0; i < out[0].element_count(); ++i) negative |= out[0].data<float>()[i] < 0;
  EXPECT_TRUE(negative) << "the pre-activation output lost its negative values";
}

TEST(OnnxPlanTest, ABiasComputedWhileRunningIsNotFolded) {
  GraphBuilder b;
  b.g.opset = 13;
  b.Input("x", {-1, 4});
  b.Input("shift", {-1, 3});
  b.Constant("w", {4, 3}, Ramp(12, 0.3f, -0.1f));
  b.Node("MatMul", {"x", "w"}, {"mm"});
  b.Node("Add", {"mm", "shift"}, {"y"});
  b.Node("Sigmoid", {"y"}, {"z"});
  b.Output("z");
  auto plan = OnnxPlan::Create(b.g, 2);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ((*plan)->steps(), 3u);
  const auto inputs = RandomInputs(b.g, 2, 3);
  ExpectSame(RunPlan(b.g, 2, inputs, {}), RunPlan(b.g, 2, inputs, kNone), 1e-6);
}

TEST(OnnxPlanTest, ValuesThatDoNotLiveTogetherShareArenaBytes) {
  GraphBuilder b;
  b.g.opset = 13;
  b.Input("x", {-1, 1000});
  b.Node("Sigmoid", {"x"}, {"a"});
  b.Node("Tanh", {"a"}, {"c"});
  b.Node("Abs", {"c"}, {"d"});
  b.Node("Neg", {"d"}, {"e"});
  b.Node("Exp", {"e"}, {"f"});
  b.Output("f");
  OnnxPlan* plan = nullptr;
  const auto inputs = RandomInputs(b.g, 4, 5);
  const auto out = RunPlan(b.g, 4, inputs, {}, &plan);
  ASSERT_NE(plan, nullptr);
  // Five values of 16000 bytes; at most two are alive at once.
  EXPECT_EQ(plan->arena_bytes(), 2u * 16000u);
  for (int64_t i = 0; i < out[0].element_count(); ++i) {
    const float x = inputs[0].data<float>()[i];
    EXPECT_NEAR(out[0].data<float>()[i], std::exp(-std::abs(std::tanh(1 / (1 + std::exp(-x))))),
                1e-6);
  }
}

TEST(OnnxPlanTest, AConvolutionReadBothAsAnOutputAndByAConvolutionStaysPlain) {
  GraphBuilder b;
  b.g.opset = 13;
  b.Input("x", {-1, 4, 8, 8});
  b.Constant("w1", {16, 4, 3, 3}, Ramp(16 * 4 * 9, -0.5f, 0.0017f));
  b.Constant("w2", {16, 16, 1, 1}, Ramp(16 * 16, 0.4f, -0.003f));
  b.Node("Conv", {"x", "w1"}, {"c1"}).attributes["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  b.Node("Relu", {"c1"}, {"r1"});
  b.Node("Conv", {"r1", "w2"}, {"c2"});
  b.Node("MaxPool", {"r1"}, {"p1"}).attributes["kernel_shape"] = std::vector<int64_t>{2, 2};
  b.Output("r1");
  b.Output("c2");
  b.Output("p1");
  for (int64_t batch : {1, 3}) {
    const auto inputs = RandomInputs(b.g, batch, 9);
    ExpectSame(RunPlan(b.g, batch, inputs, {}), RunPlan(b.g, batch, inputs, kNone), 1e-5);
  }
  // Without the graph output, r1 feeds only a Conv and a MaxPool: it may stay blocked.
  b.g.outputs.erase(b.g.outputs.begin());
  const auto inputs = RandomInputs(b.g, 2, 9);
  ExpectSame(RunPlan(b.g, 2, inputs, {}), RunPlan(b.g, 2, inputs, kNone), 1e-5);
}

TEST(OnnxPlanTest, PoolingOfBlockedConvolutionOutputsMatchesThePlainLoops) {
  // Six channels (a partial channel block), windows that overhang (ceil_mode, pads), that count
  // the padding or not, dilated ones, global ones, and a pool feeding a second convolution.
  GraphBuilder b;
  b.g.opset = 13;
  b.Input("x", {-1, 5, 9, 9});
  b.Constant("w1", {6, 5, 3, 3}, Ramp(6 * 5 * 9, -0.4f, 0.003f));
  b.Constant("w2", {4, 6, 3, 3}, Ramp(4 * 6 * 9, 0.3f, -0.004f));
  b.Node("Conv", {"x", "w1"}, {"c1"}).attributes["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  b.Node("Relu", {"c1"}, {"r1"});
  auto pool = [&](const std::string& op, const std::string& out) -> OnnxNode& {
    OnnxNode& n = b.Node(op, {"r1"}, {out});
    n.attributes["kernel_shape"] = std::vector<int64_t>{3, 3};
    b.Output(out);
    return n;
  };
  {
    OnnxNode& n = pool("MaxPool", "max_ceil");
    n.attributes["strides"] = std::vector<int64_t>{2, 2};
    n.attributes["ceil_mode"] = int64_t{1};
  }
  {
    OnnxNode& n = pool("AveragePool", "avg_incl");
    n.attributes["pads"] = std::vector<int64_t>{1, 0, 2, 1};
    n.attributes["count_include_pad"] = int64_t{1};
  }
  {
    OnnxNode& n = pool("AveragePool", "avg_excl_ceil");
    n.attributes["pads"] = std::vector<int64_t>{1, 1, 1, 1};
    n.attributes["strides"] = std::vector<int64_t>{2, 2};
    n.attributes["ceil_mode"] = int64_t{1};
  }
  {
    OnnxNode& n = pool("MaxPool", "max_dilated");
    n.attributes["dilations"] = std::vector<int64_t>{2, 2};
  }
  b.Node("GlobalMaxPool", {"r1"}, {"gmax"});
  b.Output("gmax");
  b.Node("MaxPool", {"r1"}, {"p2"}).attributes["kernel_shape"] = std::vector<int64_t>{2, 2};
  b.Node("Conv", {"p2", "w2"}, {"c2"});
  b.Node("GlobalAveragePool", {"c2"}, {"gavg"});
  b.Output("gavg");
  for (int64_t batch : {1, 3, 200}) {  // inferd's loops for small values, oneDNN's for large
    SCOPED_TRACE(batch);
    const auto inputs = RandomInputs(b.g, batch, 13);
    OnnxPlan* plan = nullptr;
    ExpectSame(RunPlan(b.g, batch, inputs, {}, &plan), RunPlan(b.g, batch, inputs, kNone), 1e-5);
    bool blocked = false;
    for (const auto& step : plan->Describe()) {
      blocked |= step.find("blocked output") != std::string::npos;
    }
    EXPECT_TRUE(blocked) << "no value was kept in a blocked layout";
  }
}

TEST(OnnxPlanTest, GemmWithPackedWeightsMatchesANaiveProductAtEveryBatchSize) {
  // Large enough weights for the packed paths (a few rows: inferd's loop; more: oneDNN's matmul),
  // N = 100 so that the last column tile is partial; transB, alpha, beta and a bias, then Relu;
  // and a MatMul with a [N] bias.
  const int64_t k = 200, n = 100;
  GraphBuilder b;
  b.g.opset = 13;
  b.Input("x", {-1, k});
  b.Constant("w_t", {n, k}, Ramp(static_cast<size_t>(n * k), -1.0f, 0.0001f));
  b.Constant("c", {n}, Ramp(static_cast<size_t>(n), -0.5f, 0.01f));
  b.Constant("w", {k, n}, Ramp(static_cast<size_t>(n * k), 0.7f, -0.00007f));
  OnnxNode& gemm = b.Node("Gemm", {"x", "w_t", "c"}, {"g"});
  gemm.attributes["transB"] = int64_t{1};
  gemm.attributes["alpha"] = 0.5f;
  gemm.attributes["beta"] = 2.0f;
  b.Node("Relu", {"g"}, {"gemm_relu"});
  b.Node("MatMul", {"x", "w"}, {"mm"});
  b.Node("Add", {"mm", "c"}, {"matmul_bias"});
  b.Output("gemm_relu");
  b.Output("matmul_bias");
  const float* wt = b.g.values[static_cast<size_t>(b.Value("w_t"))].constant->data<float>().data();
  const float* w = b.g.values[static_cast<size_t>(b.Value("w"))].constant->data<float>().data();
  const float* c = b.g.values[static_cast<size_t>(b.Value("c"))].constant->data<float>().data();
  for (int64_t batch : {1, 2, 3, 4, 5, 9, 40}) {
    SCOPED_TRACE(batch);
    const auto inputs = RandomInputs(b.g, batch, 17);
    const auto out = RunPlan(b.g, batch, inputs, {});
    ASSERT_EQ(out.size(), 2u);
    const float* x = inputs[0].data<float>().data();
    for (int64_t i = 0; i < batch; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double g = 0, m = 0;
        for (int64_t p = 0; p < k; ++p) {
          g += static_cast<double>(x[i * k + p]) * wt[j * k + p];
          m += static_cast<double>(x[i * k + p]) * w[p * n + j];
        }
        const double want_g = std::max(0.0, 0.5 * g + 2.0 * c[j]), want_m = m + c[j];
        ASSERT_NEAR(out[0].data<float>()[i * n + j], want_g, 1e-4 * std::max(1.0, want_g))
            << "gemm row " << i << " column " << j;
        ASSERT_NEAR(out[1].data<float>()[i * n + j], want_m, 1e-4 * std::max(1.0, std::abs(want_m)))
            << "matmul row " << i << " column " << j;
      }
    }
  }
}

// y[i][j] = sum_p x[i][p] w[p][j] (row-major, in double) for the checks below.
std::vector<double> Product(const float* x, const float* w, int64_t m, int64_t k, int64_t n) {
  std::vector<double> y(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t p = 0; p < k; ++p)
        y[i * n + j] += static_cast<double>(x[i * k + p]) * w[p * n + j];
    }
  }
  return y;
}

void ExpectNear(const Tensor& got, const std::vector<double>& want) {
  ASSERT_EQ(got.element_count(), static_cast<int64_t>(want.size())) << got.name();
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(got.data<float>()[i], want[i], 1e-5 * std::max(1.0, std::abs(want[i])))
        << got.name() << " element " << i;
  }
}

TEST(OnnxPlanTest, GemmBiasesThatVaryByRowOrArriveWhileRunning) {
  GraphBuilder b;
  b.g.opset = 13;
  b.Input("x", {3, 4});
  b.Input("c_run", {5});
  b.Constant("w", {4, 5}, Ramp(20, -0.5f, 0.05f));
  b.Constant("c_rows", {3, 1}, {1.0f, -2.0f, 3.0f});
  b.Node("Gemm", {"x", "w", "c_rows"}, {"by_row"});
  b.Node("Gemm", {"x", "w", "c_run"}, {"by_column"});
  b.Output("by_row");
  b.Output("by_column");
  const auto inputs = RandomInputs(b.g, 3, 21);
  const auto out = RunPlan(b.g, 3, inputs, {});
  ASSERT_EQ(out.size(), 2u);
  const float* w = b.g.values[static_cast<size_t>(b.Value("w"))].constant->data<float>().data();
  const auto xw = Product(inputs[0].data<float>().data(), w, 3, 4, 5);
  std::vector<double> by_row = xw, by_column = xw;
  for (int64_t i = 0; i < 3; ++i) {
    for (int64_t j = 0; j < 5; ++j) {
      by_row[i * 5 + j] += std::array<double, 3>{1.0, -2.0, 3.0}[static_cast<size_t>(i)];
      by_column[i * 5 + j] += inputs[1].data<float>()[j];
    }
  }
  ExpectNear(out[0], by_row);
  ExpectNear(out[1], by_column);
}

TEST(OnnxPlanTest, MatMulByAVectorAndWithBroadcastBatches) {
  GraphBuilder b;
  b.g.opset = 13;
  b.Input("x", {-1, 3, 4});
  b.Input("p", {2, 1, 3, 4});
  b.Input("q", {1, 5, 4, 2});
  b.Input("r", {4, 1, 3, 4});
  b.Constant("v", {4}, {0.5f, -1.0f, 2.0f, 0.25f});
  b.Constant("c", {3}, {1.0f, 2.0f, 3.0f});
  b.Node("MatMul", {"x", "v"}, {"xv"});
  b.Node("Add", {"xv", "c"}, {"xv_c"});  // along the rows of x, not fused as a column bias
  b.Node("MatMul", {"p", "q"}, {"pq"});  // [2,5,3,2]: 10 products, each batch index broadcast
  b.Node("MatMul", {"r", "q"}, {"rq"});  // [4,5,3,2]: 20 products, oneDNN's batched matmul
  b.Output("xv_c");
  b.Output("pq");
  b.Output("rq");
  const auto inputs = RandomInputs(b.g, 2, 23);
  const auto out = RunPlan(b.g, 2, inputs, {});
  ASSERT_EQ(out.size(), 3u);
  const float* v = b.g.values[static_cast<size_t>(b.Value("v"))].constant->data<float>().data();
  auto xv = Product(inputs[0].data<float>().data(), v, 6, 4, 1);
  for (size_t i = 0; i < xv.size(); ++i) xv[i] += 1.0 + static_cast<double>(i % 3);
  ExpectNear(out[0], xv);
  for (auto [which, lead] : {std::pair{1, int64_t{2}}, std::pair{2, int64_t{4}}}) {
    const Tensor& a = inputs[static_cast<size_t>(which == 1 ? 1 : 3)];
    std::vector<double> want;
    for (int64_t i = 0; i < lead; ++i) {
      for (int64_t j = 0; j < 5; ++j) {
        const auto y = Product(a.data<float>().data() + i * 12,
                               inputs[2].data<float>().data() + j * 8, 3, 4, 2);
        want.insert(want.end(), y.begin(), y.end());
      }
    }
    ExpectNear(out[static_cast<size_t>(which)], want);
  }
}

TEST(OnnxPlanTest, ConcurrentCallsOnSharedPlansGiveTheSameOutputs) {
  for (const char* f : {"cnn_small", "mlp_mnist", "attention_tiny"}) {
    SCOPED_TRACE(f);
    OnnxGraph g = FixtureGraph(f);
    RewriteGraph(&g);
    auto plan = OnnxPlan::Create(g, 9);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    const auto inputs = RandomInputs(g, 9, 29);
    auto want = (*plan)->Run(inputs);
    ASSERT_TRUE(want.ok());
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int r = 0; r < 25; ++r) {
          auto got = (*plan)->Run(inputs);
          if (!got.ok() || got->size() != want->size()) {
            ++mismatches;
            continue;
          }
          for (size_t o = 0; o < got->size(); ++o) {
            if (std::memcmp((*got)[o].bytes().data(), (*want)[o].bytes().data(),
                            (*want)[o].byte_size()) != 0) {
              ++mismatches;
            }
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(mismatches.load(), 0);
  }
}

TEST(OnnxPlanTest, BadGraphsAreRefusedWithTheNodeNamed) {
  auto refused = [](GraphBuilder& b, const std::string& what) {
    auto plan = OnnxPlan::Create(b.g, 2);
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.status().code(), base::StatusCode::kInvalidArgument);
    EXPECT_NE(plan.status().message().find(what), std::string::npos) << plan.status().message();
  };
  {
    GraphBuilder b;
    b.g.opset = 13;
    b.Input("x", {-1, 2, 5, 5});
    b.Node("MaxPool", {"x"}, {"y"}).attributes["kernel_shape"] = std::vector<int64_t>{0, 0};
    b.Output("y");
    refused(b, "node 'MaxPool0' (MaxPool): the kernel must be at least 1 x 1");
  }
  {
    GraphBuilder b;
    b.g.opset = 13;
    b.Input("x", {-1, 2, 5, 5});
    OnnxNode& n = b.Node("AveragePool", {"x"}, {"y"});
    n.attributes["kernel_shape"] = std::vector<int64_t>{2, 2};
    n.attributes["pads"] = std::vector<int64_t>{-1, 0, 0, 0};
    b.Output("y");
    refused(b, "pads must be >= 0");
  }
  {
    GraphBuilder b;
    b.g.opset = 13;
    b.Input("x", {-1, 6});
    b.Node("Split", {"x"}, {"a", "", "c"}).attributes["axis"] = int64_t{1};
    b.g.values[static_cast<size_t>(b.Value(""))].name = "";
    b.g.nodes.back().outputs[1] = -1;
    b.Output("a");
    refused(b, "omits an output before the last");
  }
  {
    GraphBuilder b;
    b.g.opset = 13;
    b.Input("x", {1, 1});
    Tensor shape("shape", DataType::kInt64, {3});
    shape.data<int64_t>()[0] = int64_t{1} << 31;
    shape.data<int64_t>()[1] = int64_t{1} << 31;
    shape.data<int64_t>()[2] = int64_t{1} << 31;
    b.g.values[static_cast<size_t>(b.Value("shape"))].dtype = DataType::kInt64;
    b.g.values[static_cast<size_t>(b.Value("shape"))].constant = std::move(shape);
    b.Node("Expand", {"x", "shape"}, {"y"});
    b.Output("y");
    refused(b, "is invalid or too large");
  }
  {
    // Constants folded at plan time count against the plan's limit too (found by onnx_fuzz: a
    // ConstantOfShape of 117 GB).
    GraphBuilder b;
    b.g.opset = 13;
    b.Input("x", {-1, 4});
    Tensor shape("big_shape", DataType::kInt64, {2});
    shape.data<int64_t>()[0] = 1024;
    shape.data<int64_t>()[1] = 1024;
    b.g.values[static_cast<size_t>(b.Value("big_shape"))].dtype = DataType::kInt64;
    b.g.values[static_cast<size_t>(b.Value("big_shape"))].constant = std::move(shape);
    b.Node("ConstantOfShape", {"big_shape"}, {"zeros"});
    b.Node("Identity", {"x"}, {"y"});
    b.Output("y");
    b.Output("zeros");
    PlanOptions small;
    small.max_arena_bytes = 1 << 20;  // 1 MiB; the constant takes 4 MiB
    auto plan = OnnxPlan::Create(b.g, 2, small);
    ASSERT_FALSE(plan.ok());
    EXPECT_NE(plan.status().message().find("would take the plan past its 1 MiB limit"),
              std::string::npos)
        << plan.status().message();
    EXPECT_TRUE(OnnxPlan::Create(b.g, 2).ok());  // within the default limit
  }
}

}  // namespace
}  // namespace inferd::backends::onnx
