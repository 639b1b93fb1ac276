#include "config/triton_config.h"

#include <gtest/gtest.h>

namespace inferd::config {
namespace {

// A FIL (forest) model's config as Triton's documentation writes them.
constexpr const char* kFil = R"pb(
  name: "fraud"
  backend: "fil"
  max_batch_size: 32768 input
  [ {
    name: "input__0"
    data_type: TYPE_FP32
    dims: [ 30 ]
  }] output
  [ {
    name: "output__0"
    data_type: TYPE_FP32
    dims: [ 2 ]
  }] instance_group
  [ { kind: KIND_CPU, count: 2 }] parameters
  [ {
    key: "model_type"
    value: { string_value: "xgboost_json" }
  }
    , {
      key: "output_class"
      value: { string_value: "true" }
    }
    , {
      key: "predict_proba"
      value: { string_value: "true" }
    }]
  dynamic_batching {
    preferred_batch_size: [ 16, 64 ]
    max_queue_delay_microseconds: 100
    default_queue_policy { max_queue_size: 500 }
  }
  version_policy: { latest { num_versions: 2 } }
  # Triton-only settings are named in warnings.
  optimization {
    execution_accelerators {
      cpu_execution_accelerator:
      [ { name: "x" }]
    }
  }
)pb";

TEST(TritonConfigTest, ReadsAFilConfig) {
  std::vector<std::string> warnings;
  auto c = ParseTritonConfig(kFil, "fraud", &warnings);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->backend, "forest");
  EXPECT_EQ(c->max_batch_size, 32768);
  ASSERT_EQ(c->inputs.size(), 1u);
  EXPECT_EQ(c->inputs[0].name, "input__0");
  EXPECT_EQ(c->inputs[0].dtype, tensor::DataType::kFp32);
  EXPECT_EQ(c->inputs[0].shape, (tensor::Shape{-1, 30}));
  ASSERT_EQ(c->outputs.size(), 1u);
  EXPECT_EQ(c->outputs[0].name, "output__0");
  EXPECT_EQ(c->outputs[0].source, "probabilities");
  EXPECT_EQ(c->instances, 2);
  ASSERT_TRUE(c->dynamic_batching.has_value());
  EXPECT_EQ(c->dynamic_batching->preferred_batch_sizes, (std::vector<int64_t>{16, 64}));
  EXPECT_EQ(c->dynamic_batching->max_queue_delay_us, 100);
  EXPECT_EQ(c->dynamic_batching->max_queue_size, 500);
  EXPECT_EQ(c->version_policy.kind, VersionPolicy::Kind::kLatest);
  EXPECT_EQ(c->version_policy.latest, 2);
  EXPECT_EQ(c->parameters.at("model_type"), "xgboost_json");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("'optimization' is not used by inferd"), std::string::npos)
      << warnings[0];
}

TEST(TritonConfigTest, OnnxAndTheOtherOutputsOfFil) {
  auto onnx = ParseTritonConfig(R"(platform: "onnxruntime_onnx"
max_batch_size: 0
input { name: "x" data_type: TYPE_FP32 dims: [-1, 4] }
version_policy: { all { } }
)",
                                "m");
  ASSERT_TRUE(onnx.ok()) << onnx.status().ToString();
  EXPECT_EQ(onnx->backend, "onnx");
  EXPECT_EQ(onnx->inputs[0].shape, (tensor::Shape{-1, 4}));  // no batch dimension added
  EXPECT_EQ(onnx->version_policy.kind, VersionPolicy::Kind::kAll);
  auto label = ParseTritonConfig(R"(backend: "fil" max_batch_size: 8
output [{ name: "output__0", data_type: TYPE_FP32, dims: [1] }]
parameters { key: "output_class" value { string_value: "true" } })",
                                 "m");
  ASSERT_TRUE(label.ok()) << label.status().ToString();
  EXPECT_EQ(label->outputs[0].source, "label");
  auto regression = ParseTritonConfig(R"(backend: 'fil' output: [{name: 'y', data_type: TYPE_FP32,
                                           dims: [1]}])",
                                      "m");
  ASSERT_TRUE(regression.ok()) << regression.status().ToString();
  EXPECT_EQ(regression->outputs[0].source, "prediction");
}

TEST(TritonConfigTest, ErrorsNameTheLineAndTheProblem) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"name: \"other\"", "line 1: name 'other' differs from the model directory name 'm'"},
      {"backend: \"python\"", "backend 'python' is not supported"},
      {"max_batch_size: big", "'max_batch_size' must be an integer, got 'big'"},
      {"max_batch_size: 4\ninput { name: \"x\" data_type: TYPE_FP99 dims: [1] }",
       "line 2: unknown data_type 'TYPE_FP99'"},
      {"input { data_type: TYPE_FP32 }", "input without a name"},
      {"instance_group [{ kind: KIND_GPU }]", "instance_group kind KIND_GPU: inferd runs on CPUs"},
      {"sequence_batching { }", "sequence_batching is not supported"},
      {"backend: \"fil\"\nparameters { key: \"model_type\" value { string_value: \"xgboost\" } }",
       "XGBoost's old binary format"},
      {"max_batch_size: 0\ndynamic_batching { }", "dynamic_batching needs max_batch_size > 0"},
      {"input { name: \"x\"", "missing '}'"},
      {"name \"x\"", "line 1: expected ':' or '{' after 'name'"},
      {"name: \"x", "unterminated string"},
      {"dims: [1, 2", "expected ',' or ']'"},
      {"input { name: \"x\" data_type: TYPE_FP32 dims: [1] label_filename: \"l.txt\" }",
       "'x': label_filename is for outputs"},
  };
  for (const auto& c : cases) {
    auto r = ParseTritonConfig(c.text, "m");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), base::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.message), std::string::npos)
        << c.text << " -> " << r.status().message();
  }
}

}  // namespace
}  // namespace inferd::config
