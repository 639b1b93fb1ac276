#include "server/plugin_backend.h"

#include <gtest/gtest.h>

#include "backends/onnx/plugin.h"

namespace inferd::server {
namespace {

namespace fs = std::filesystem;

PluginBackendOptions Onnx(fs::path library) {
  PluginBackendOptions o;
  o.name = "onnx";
  o.model_file_name = "model.onnx";
  o.library = std::move(library);
  o.symbol = kOnnxPluginSymbol;
  return o;
}

TEST(PluginBackendTest, LoadsThePluginOnFirstUse) {
  PluginBackend backend(Onnx(fs::path(INFERD_BINARY_DIR) / kOnnxPluginFile));
  const fs::path dir = fs::path(INFERD_SOURCE_DIR) / "tests/fixtures/onnx/op_unsupported";
  ASSERT_TRUE(backend.FindModelFile(dir).has_value());
  EXPECT_TRUE(backend.LoadsFileName("model.onnx"));
  EXPECT_FALSE(backend.LoadsFileName("model.json"));
  config::ModelConfig cfg;
  auto loaded = backend.Load({"m", 1, dir / "model.onnx", &cfg});
  ASSERT_FALSE(loaded.ok());
  // The plugin answered: the engine lists what it lacks.
  EXPECT_EQ(loaded.status().code(), base::StatusCode::kUnimplemented) << loaded.status().message();
  EXPECT_NE(loaded.status().message().find("Softplus"), std::string::npos);
  // And a graph it can run loads.
  auto mlp = backend.Load(
      {"m", 1, fs::path(INFERD_SOURCE_DIR) / "tests/fixtures/onnx/mlp_tabular/model.onnx", &cfg});
  EXPECT_TRUE(mlp.ok()) << mlp.status().ToString();
}

TEST(PluginBackendTest, AMissingPluginIsAClearError) {
  PluginBackend backend(Onnx("/nonexistent/libinferd_onnx.so"));
  config::ModelConfig cfg;
  auto loaded = backend.Load({"m", 1, "/nonexistent/model.onnx", &cfg});
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), base::StatusCode::kUnavailable);
  EXPECT_NE(loaded.status().message().find("cannot be loaded"), std::string::npos)
      << loaded.status().message();
  // Asked again, it answers the same without retrying the load.
  EXPECT_EQ(backend.Load({"m", 1, "/nonexistent/model.onnx", &cfg}).status().message(),
            loaded.status().message());
}

}  // namespace
}  // namespace inferd::server
