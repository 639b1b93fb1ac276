#include "backends/onnx/onnx_model.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>

#include "backend/model_file.h"
#include "backends/onnx/onnx_backend.h"
#include "backends/onnx/onnx_graph.h"

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
  auto info = InspectOnnxModel(Bytes("mlp_tabular"));
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->unsupported.count("Gemm"), 1u);
  EXPECT_EQ(info->unsupported.at("Gemm").size(), 3u);  // 30->64->32->2
  const std::string message = DescribeUnsupported(info->unsupported);
  EXPECT_NE(message.find("Gemm (nodes "), std::string::npos) << message;
  EXPECT_NE(message.find("Relu (nodes "), std::string::npos) << message;

  OnnxBackend backend({});
  config::ModelConfig cfg;
  auto loaded = backend.Load({"m", 1, Fixture("cnn_small"), &cfg});
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), base::StatusCode::kUnimplemented);
  for (const char* op : {"Conv", "BatchNormalization", "MaxPool", "Gemm", "Flatten"}) {
    EXPECT_NE(loaded.status().message().find(op), std::string::npos) << loaded.status().message();
  }
  EXPECT_EQ(loaded.status().message().rfind(Fixture("cnn_small").string(), 0), 0u);
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
  auto g = BuildOnnxGraph(Bytes("mlp_tabular"));
  ASSERT_TRUE(g.ok()) << g.status().ToString();
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
    auto g = BuildOnnxGraph(Bytes(f));
    ASSERT_TRUE(g.ok()) << f << ": " << g.status().ToString();
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
