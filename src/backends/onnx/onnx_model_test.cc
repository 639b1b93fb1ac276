#include "backends/onnx/onnx_model.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "backend/model_file.h"
#include "backends/onnx/graph_rewrite.h"
#include "backends/onnx/onnx_backend.h"
#include "backends/onnx/onnx_graph.h"
#include "backends/onnx/plan.h"
#include "backends/onnx/quantize.h"

namespace inferd::backends::onnx {
namespace {

namespace fs = std::filesystem;

fs::path Fixture(const std::string& name) {
  return fs::path(INFERD_SOURCE_DIR) / "tests/fixtures/onnx" / name / "model.onnx";
}

std::string Bytes(const std::string& name) {
  return backend::ReadModelFile(Fixture(name), int64_t{1} << 30).value();
}

TEST(OnnxModelTest, SignatureFromTheGraph) {
  auto info = InspectOnnxModel(Bytes("mlp_tabular"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_EQ(info->signature.inputs.size(), 1u);
  EXPECT_EQ(info->signature.inputs[0].name, "features");
  EXPECT_EQ(info->signature.inputs[0].dtype, tensor::DataType::kFp32);
  EXPECT_EQ(info->signature.inputs[0].shape, (tensor::Shape{-1, 30}));
  ASSERT_EQ(info->signature.outputs.size(), 1u);
  EXPECT_EQ(info->signature.outputs[0].name, "logits");
  EXPECT_EQ(info->signature.outputs[0].shape, (tensor::Shape{-1, 2}));
  EXPECT_EQ(info->opset, 14);
  auto attention = InspectOnnxModel(Bytes("attention_tiny"));
  ASSERT_TRUE(attention.ok()) << attention.status().ToString();
  EXPECT_EQ(attention->signature.inputs[0].dtype, tensor::DataType::kInt64);
  auto ln = InspectOnnxModel(Bytes("op_layernorm17"));
  ASSERT_TRUE(ln.ok()) << ln.status().ToString();
  EXPECT_EQ(ln->opset, 17);
}

TEST(OnnxModelTest, EveryUnsupportedOperatorIsListedWithItsNodes) {
  auto info = InspectOnnxModel(Bytes("op_unsupported"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->unsupported.size(), 2u);
  const std::string message = DescribeUnsupported(info->unsupported);
  EXPECT_NE(message.find("Softplus (node "), std::string::npos) << message;
  EXPECT_NE(message.find("Celu (node "), std::string::npos) << message;
  EXPECT_TRUE(InspectOnnxModel(Bytes("cnn_small"))->unsupported.empty());

  OnnxBackend backend({});
  config::ModelConfig cfg;
  auto loaded = backend.Load({"m", 1, Fixture("op_unsupported"), &cfg});
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), base::StatusCode::kUnimplemented);
  EXPECT_NE(loaded.status().message().find("unsupported operators: Celu"), std::string::npos)
      << loaded.status().message();
  EXPECT_EQ(loaded.status().message().rfind(Fixture("op_unsupported").string(), 0), 0u);
}

TEST(OnnxModelTest, RefusesWhatItCannotServe) {
  EXPECT_EQ(InspectOnnxModel("certainly not a protobuf \xff\xff").status().code(),
            base::StatusCode::kInvalidArgument);
  const std::string good = Bytes("mlp_tabular");
  EXPECT_FALSE(InspectOnnxModel(good.substr(0, good.size() / 2)).ok());

  ::onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(good));
  auto with = [&](auto change) {
    ::onnx::ModelProto copy = m;
    change(copy);
    auto r = InspectOnnxModel(copy.SerializeAsString());
    return r.ok() ? std::string("OK") : r.status().message();
  };
  EXPECT_NE(with([](auto& c) { c.set_ir_version(3); }).find("IR version 3"), std::string::npos);
  EXPECT_NE(with([](auto& c) { c.mutable_opset_import(0)->set_version(18); }).find("opset 18"),
            std::string::npos);
  EXPECT_NE(with([](auto& c) {
              auto* imp = c.add_opset_import();
              imp->set_domain("com.microsoft");
              imp->set_version(1);
            }).find("com.microsoft"),
            std::string::npos);
  // A node whose input does not exist: the checker says so.
  EXPECT_NE(with([](auto& c) {
              c.mutable_graph()->mutable_node(0)->set_input(0, "nowhere");
            }).find("checker"),
            std::string::npos);
}

}  // namespace
}  // namespace inferd::backends::onnx

namespace inferd::backends::onnx {
namespace {

TEST(OnnxGraphTest, BuildsValuesNodesAndInitializers) {
  auto info = InspectOnnxModel(Bytes("mlp_tabular"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  const OnnxGraph* g = &info->graph;
  EXPECT_EQ(g->opset, 14);
  ASSERT_EQ(g->inputs.size(), 1u);
  EXPECT_EQ(g->values[static_cast<size_t>(g->inputs[0])].name, "features");
  ASSERT_EQ(g->outputs.size(), 1u);
  EXPECT_EQ(g->values[static_cast<size_t>(g->outputs[0])].name, "logits");
  size_t gemms = 0;
  for (const auto& n : g->nodes) {
    if (n.op != "Gemm") continue;
    ++gemms;
    ASSERT_EQ(n.inputs.size(), 3u);
    const auto& w = g->values[static_cast<size_t>(n.inputs[1])];
    ASSERT_TRUE(w.constant.has_value()) << n.name;
    EXPECT_EQ(w.constant->dtype(), tensor::DataType::kFp32);
    EXPECT_EQ(w.constant->shape().size(), 2u);
    auto trans_b = n.Get<int64_t>("transB", 0);
    ASSERT_TRUE(trans_b.ok());
  }
  EXPECT_EQ(gemms, 3u);
  // First layer: 30 -> 64 (torch stores [out, in] with transB = 1).
  const auto& first = g->nodes[0];
  EXPECT_EQ(g->values[static_cast<size_t>(first.inputs[1])].constant->shape(),
            (tensor::Shape{64, 30}));
  EXPECT_EQ(*first.Get<int64_t>("transB", 0), 1);
  EXPECT_FALSE(first.Get<float>("transB", 0.0f).ok());  // present, but an int
}

TEST(OnnxGraphTest, EveryFixtureBuilds) {
  for (const char* f :
       {"mlp_mnist", "cnn_small", "attention_tiny", "op_elementwise", "op_activations",
        "op_compare_where", "op_reductions", "op_slice_split_concat", "op_pad_tile_expand",
        "op_shape_range", "op_gemm_matmul", "op_conv_pool", "op_layernorm17"}) {
    auto info = InspectOnnxModel(Bytes(f));
    ASSERT_TRUE(info.ok()) << f << ": " << info.status().ToString();
    const OnnxGraph* g = &info->graph;
    EXPECT_FALSE(g->nodes.empty()) << f;
    for (const auto& n : g->nodes) {
      for (int in : n.inputs) {
        if (in >= 0) {
          EXPECT_LT(static_cast<size_t>(in), g->values.size()) << f;
        }
      }
    }
  }
}

}  // namespace
}  // namespace inferd::backends::onnx

namespace inferd::backends::onnx {
namespace {

// Compares a model's outputs with a reference's (ONNX Runtime's or PyTorch's) on the fixture's
// inputs (batch 1 and 3): |ours - reference| <= tolerance * max(1, |reference|).
void ExpectMatches(const std::string& fixture, double tolerance, const char* reference) {
  SCOPED_TRACE(std::string(fixture) + " vs " + reference);
  OnnxBackend backend({});
  config::ModelConfig cfg;
  auto model = backend.Load({"m", 1, Fixture(fixture), &cfg});
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const fs::path dir = Fixture(fixture).parent_path();
  auto inputs = nlohmann::json::parse(backend::ReadModelFile(dir / "inputs.json", 1 << 26).value());
  auto ort = nlohmann::json::parse(backend::ReadModelFile(dir / reference, 1 << 26).value());
  ASSERT_EQ(inputs["cases"].size(), ort["cases"].size());
  for (size_t c = 0; c < inputs["cases"].size(); ++c) {
    std::vector<tensor::Tensor> in;
    for (const auto& i : inputs["cases"][c]["inputs"]) {
      const auto dtype = tensor::DataTypeFromName(i["datatype"].get<std::string>());
      ASSERT_TRUE(dtype.has_value());
      tensor::Tensor t(i["name"], *dtype, i["shape"].get<tensor::Shape>());
      for (size_t k = 0; k < static_cast<size_t>(t.element_count()); ++k) {
        if (*dtype == tensor::DataType::kFp32) {
          t.data<float>()[k] = static_cast<float>(i["data"][k].get<double>());
        } else if (*dtype == tensor::DataType::kInt64) {
          t.data<int64_t>()[k] = i["data"][k].get<int64_t>();
        } else {
          FAIL() << "input datatype " << i["datatype"];
        }
      }
      in.push_back(std::move(t));
    }
    auto out = (*model)->Execute(in, {});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    const auto& want = ort["cases"][c]["outputs"];
    ASSERT_EQ(out->size(), want.size());
    for (size_t o = 0; o < want.size(); ++o) {
      const tensor::Tensor& got = (*out)[o];
      EXPECT_EQ(got.name(), want[o]["name"]);
      EXPECT_EQ(got.shape(), want[o]["shape"].get<tensor::Shape>());
      ASSERT_EQ(got.element_count(), static_cast<int64_t>(want[o]["data"].size()));
      for (size_t k = 0; k < want[o]["data"].size(); ++k) {
        const auto& wj = want[o]["data"][k];
        const double w = wj.is_boolean() ? (wj.get<bool>() ? 1.0 : 0.0) : wj.get<double>();
        double g = 0;
        if (got.dtype() == tensor::DataType::kFp32) {
          g = got.data<float>()[k];
        } else if (got.dtype() == tensor::DataType::kInt64) {
          g = static_cast<double>(got.data<int64_t>()[k]);
        } else if (got.dtype() == tensor::DataType::kInt32) {
          g = static_cast<double>(got.data<int32_t>()[k]);
        } else if (got.dtype() == tensor::DataType::kBool) {
          g = got.data<uint8_t>()[k] ? 1.0 : 0.0;
        } else {
          FAIL() << "output datatype " << tensor::DataTypeName(got.dtype());
        }
        EXPECT_LE(std::abs(g - w), tolerance * std::max(1.0, std::abs(w)))
            << "case " << c << " output " << got.name() << " element " << k;
      }
    }
  }
}

void ExpectMatchesOrt(const std::string& fixture, double tolerance) {
  ExpectMatches(fixture, tolerance, "outputs_ort.json");
}

TEST(OnnxEngineTest, PytorchModelsMatchPytorch) {
  ExpectMatches("mlp_tabular", 1e-5, "outputs_torch.json");
  ExpectMatches("mlp_mnist", 1e-5, "outputs_torch.json");
  ExpectMatches("attention_tiny", 1e-5, "outputs_torch.json");
  ExpectMatches("cnn_small", 1e-4, "outputs_torch.json");
}

TEST(OnnxEngineTest, MlpsMatchOnnxRuntime) {
  ExpectMatchesOrt("mlp_tabular", 1e-5);
  ExpectMatchesOrt("mlp_mnist", 1e-5);
}

TEST(OnnxEngineTest, AttentionBlockMatchesOnnxRuntime) {
  ExpectMatchesOrt("attention_tiny", 1e-5);
  ExpectMatchesOrt("op_reductions", 1e-5);
}

TEST(OnnxEngineTest, SelectionSlicingPaddingAndLayerNormMatchOnnxRuntime) {
  for (const char* f : {"op_compare_where", "op_slice_split_concat", "op_pad_tile_expand",
                        "op_shape_range", "op_gemm_matmul", "op_layernorm17"}) {
    ExpectMatchesOrt(f, 1e-5);
  }
}

TEST(OnnxEngineTest, ConvolutionsAndPoolingMatchOnnxRuntime) {
  ExpectMatchesOrt("cnn_small", 1e-4);
  ExpectMatchesOrt("op_conv_pool", 1e-4);
}

TEST(OnnxEngineTest, ElementwiseAndActivationsMatchOnnxRuntime) {
  ExpectMatchesOrt("op_elementwise", 1e-5);
  ExpectMatchesOrt("op_activations", 1e-5);
}

TEST(OnnxEngineTest, PlansEveryBatchSize) {
  OnnxBackend backend({});
  config::ModelConfig cfg;
  auto model = backend.Load({"m", 1, Fixture("mlp_tabular"), &cfg});
  ASSERT_TRUE(model.ok());
  std::vector<tensor::Tensor> in;
  in.emplace_back("features", tensor::DataType::kFp32, tensor::Shape{2, 30});
  auto out = (*model)->Execute(in, {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].shape(), (tensor::Shape{2, 2}));
}

// The quantized operators (QuantizeLinear and DequantizeLinear per tensor and per axis,
// DynamicQuantizeLinear, MatMulInteger, QLinearMatMul, and the dynamic quantization chain the
// planner runs as one oneDNN int8 matmul), and an MLP quantized by `inferd quantize`, against
// ONNX Runtime (tools/fixtures/make_quant_fixtures.py).
TEST(OnnxEngineTest, QuantizedOperatorsMatchOnnxRuntime) {
  ExpectMatchesOrt("op_quantize", 1e-6);
  ExpectMatchesOrt("quantized_mlp", 1e-6);
  ExpectMatchesOrt("op_quantize_conv", 1e-6);
  // The CNN's fused steps scale in another order than the op-by-op chain (bias and
  // BatchNormalization folded in), and a last-bit difference can move a value across a rounding
  // boundary when the next layer quantizes it: one activation step, ~1e-4 in the logits.
  ExpectMatchesOrt("quantized_cnn", 1e-3);
}

TEST(OnnxQuantizeTest, TheQuantizerWritesTheCommittedModel) {
  // quantized_mlp/model.onnx is `inferd quantize` of mlp_tabular: the quantizer still writes it
  // byte for byte (else regenerate with tools/fixtures/make_quant_fixtures.py, which also runs
  // ONNX Runtime on it).
  auto q = QuantizeOnnxModel(Bytes("mlp_tabular"), {});
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->model, Bytes("quantized_mlp"));
  EXPECT_EQ(q->quantized.size(), 3u);
  EXPECT_TRUE(q->skipped.empty());
  // The ONNX checker accepts it, and the weights are 7-bit int8 with per-column scales.
  auto info = InspectOnnxModel(q->model);
  ASSERT_TRUE(info.ok()) << info.status().message();
  bool seen = false;
  for (const auto& v : info->graph.values) {
    if (!v.constant || v.constant->dtype() != tensor::DataType::kInt8 ||
        v.constant->shape().size() != 2) {
      continue;
    }
    seen = true;
    for (int8_t w : v.constant->data<int8_t>()) EXPECT_LE(std::abs(int{w}), 63);
  }
  EXPECT_TRUE(seen);

  // Options: the head in FP32, full range, per tensor.
  auto keep = QuantizeOnnxModel(Bytes("mlp_tabular"), {.exclude_last = true});
  ASSERT_TRUE(keep.ok());
  EXPECT_EQ(keep->quantized.size(), 2u);
  ASSERT_EQ(keep->skipped.size(), 1u);
  EXPECT_NE(keep->skipped[0].find("kept in FP32"), std::string::npos);
  auto full =
      QuantizeOnnxModel(Bytes("mlp_tabular"), {.per_channel = false, .reduce_range = false});
  ASSERT_TRUE(full.ok());
  EXPECT_TRUE(InspectOnnxModel(full->model).ok());
  EXPECT_LT(full->model.size(), q->model.size());  // one scale per matrix

  // Errors: not a model; nothing to quantize; an opset without DynamicQuantizeLinear.
  EXPECT_FALSE(QuantizeOnnxModel("not a model", {}).ok());
  auto none = QuantizeOnnxModel(Bytes("op_elementwise"), {});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("nothing to quantize"), std::string::npos);
  ::onnx::ModelProto old;
  ASSERT_TRUE(old.ParseFromString(Bytes("mlp_tabular")));
  old.mutable_opset_import(0)->set_version(10);
  auto v10 = QuantizeOnnxModel(old.SerializeAsString(), {});
  ASSERT_FALSE(v10.ok());
  EXPECT_NE(v10.status().message().find("opset 11"), std::string::npos);
}

TEST(OnnxQuantizeTest, TheChainRunsAsOneInt8MatMulWithItsBiasAndRelu) {
  auto info = InspectOnnxModel(Bytes("quantized_mlp"));
  ASSERT_TRUE(info.ok()) << info.status().message();
  OnnxGraph g = info->graph;
  const auto rewrites = RewriteGraph(&g);
  ASSERT_EQ(rewrites.size(), 3u);
  EXPECT_NE(rewrites[0].find("QuantizedMatMul from"), std::string::npos) << rewrites[0];
  auto plan = OnnxPlan::Create(g, 4);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  const auto steps = (*plan)->Describe();
  ASSERT_EQ(steps.size(), 3u);  // three layers, nothing else
  EXPECT_NE(steps[0].find("+ Add"), std::string::npos) << steps[0];
  EXPECT_NE(steps[0].find("Relu"), std::string::npos) << steps[0];
  EXPECT_NE(steps[0].find("oneDNN"), std::string::npos) << steps[0];
  EXPECT_NE(steps[0].find("u8 x s8"), std::string::npos) << steps[0];
  // Without the rewrite the ops run one by one, to the same numbers.
  auto unfused = OnnxPlan::Create(info->graph, 4);
  ASSERT_TRUE(unfused.ok()) << unfused.status().message();
  EXPECT_GT((*unfused)->steps(), 3u);
  std::vector<tensor::Tensor> in;
  in.emplace_back("features", tensor::DataType::kFp32, tensor::Shape{4, 30});
  auto x = in[0].data<float>();
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i)) * 3;
  auto a = (*plan)->Run(in);
  auto b = (*unfused)->Run(in);
  ASSERT_TRUE(a.ok() && b.ok());
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_NEAR((*a)[0].data<float>()[i], (*b)[0].data<float>()[i], 1e-6) << i;
  }
  // Weights whose zero point is not 0 take the reference kernel (oneDNN's s8 weights have none),
  // to the ops' numbers too.
  OnnxGraph zg = info->graph;
  int shifted = 0;
  for (const auto& node : zg.nodes) {
    if (node.op != "MatMulInteger" || node.inputs.size() < 4 || node.inputs[3] < 0) continue;
    auto& zp = zg.values[static_cast<size_t>(node.inputs[3])].constant;
    if (!zp) continue;
    for (auto& byte : zp->bytes()) byte = 2;
    ++shifted;
  }
  ASSERT_GT(shifted, 0);
  auto shifted_unfused = OnnxPlan::Create(zg, 4);
  ASSERT_TRUE(shifted_unfused.ok()) << shifted_unfused.status().message();
  ASSERT_EQ(RewriteGraph(&zg).size(), 3u);
  auto reference = OnnxPlan::Create(zg, 4);
  ASSERT_TRUE(reference.ok()) << reference.status().message();
  EXPECT_NE((*reference)->Describe()[0].find("reference int8"), std::string::npos)
      << (*reference)->Describe()[0];
  for (int run = 0; run < 2; ++run) {  // (the second run on the same plan: nothing is left over)
    auto r = (*reference)->Run(in);
    auto u = (*shifted_unfused)->Run(in);
    ASSERT_TRUE(r.ok() && u.ok());
    for (size_t i = 0; i < 8; ++i) {
      EXPECT_NEAR((*r)[0].data<float>()[i], (*u)[0].data<float>()[i], 1e-5) << i;
    }
  }

  // The CNN: each quantized Conv runs as a oneDNN int8 convolution, its bias, BatchNormalization
  // and Relu fused in.
  auto cnn = InspectOnnxModel(Bytes("quantized_cnn"));
  ASSERT_TRUE(cnn.ok()) << cnn.status().message();
  OnnxGraph cg = cnn->graph;
  int convs = 0;
  for (const auto& r : RewriteGraph(&cg)) convs += r.find("QuantizedConv") != std::string::npos;
  EXPECT_EQ(convs, 3);
  auto cplan = OnnxPlan::Create(cg, 2);
  ASSERT_TRUE(cplan.ok()) << cplan.status().message();
  int fast = 0;
  for (const auto& step : (*cplan)->Describe()) {
    if (step.find("QuantizedConv") == std::string::npos) continue;
    EXPECT_NE(step.find("u8 x s8"), std::string::npos) << step;
    fast += step.find("Relu") != std::string::npos;
  }
  EXPECT_EQ(fast, 3);
}

// libonnx's shape inference divides by a Conv's or pool's strides unchecked: a zero stride must be
// refused before it runs (found by onnx_fuzz: a SIGFPE inside libonnx 1.12).
TEST(OnnxModelTest, AZeroStrideIsRefusedNotACrash) {
  ::onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(Bytes("op_conv_pool")));
  bool changed = false;
  for (auto& node : *m.mutable_graph()->mutable_node()) {
    for (auto& a : *node.mutable_attribute()) {
      if (a.name() == "strides" && !changed) {
        a.set_ints(0, 0);
        changed = true;
      }
    }
  }
  ASSERT_TRUE(changed);
  auto info = InspectOnnxModel(m.SerializeAsString());
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.status().message().find("strides must be >= 1"), std::string::npos)
      << info.status().message();
}

// libonnx 1.12's convolution shape inference reads past its vectors when the input's rank and the
// weights' disagree (found by onnx_fuzz: a SIGSEGV); such a model is refused, not a crash, and the
// refusal names the convolution.
TEST(OnnxModelTest, AConvolutionOfTheWrongRankIsRefusedNotACrash) {
  ::onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(Bytes("op_conv_pool")));
  auto* shape =
      m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  while (shape->dim_size() > 2) shape->mutable_dim()->RemoveLast();
  auto info = InspectOnnxModel(m.SerializeAsString());
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.status().message().find(
                "ONNX shape inference fails: Conv: the input needs a batch, a channel and spatial"),
            std::string::npos)
      << info.status().message();
}

// A graph output that names a graph input may not declare another shape for it: the plan took
// the output's [batch, 4] and read past the request's [batch] tensor (found by onnx_fuzz).
TEST(OnnxModelTest, AnOutputMayNotRedeclareAnInputsShape) {
  ::onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto declare = [](::onnx::ValueInfoProto* v, std::vector<int64_t> dims) {
    v->set_name("x");
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : dims) {
      auto* dim = t->mutable_shape()->add_dim();
      if (d < 0) {
        dim->set_dim_param("batch");
      } else {
        dim->set_dim_value(d);
      }
    }
  };
  declare(g->add_input(), {-1});
  declare(g->add_output(), {-1, 4});
  auto info = InspectOnnxModel(m.SerializeAsString());
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.status().message().find("output 'x' is an input or constant"), std::string::npos)
      << info.status().message();
  // Declared the same, it is the identity model it looks like.
  g->mutable_output(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim()
      ->RemoveLast();
  EXPECT_TRUE(InspectOnnxModel(m.SerializeAsString()).ok());
}

}  // namespace
}  // namespace inferd::backends::onnx
