// The demo: examples/models served as `make demo` serves them, answering the README's requests
// with the values the README shows (libxgboost's and LightGBM's own outputs).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;

json Post(uint16_t port, const std::string& target, const std::string& request_file) {
  auto r = Http(port, "POST", target, ReadFile(SourceDir() / "examples/requests" / request_file));
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body, nullptr, false);
}

json Output(const json& response, const std::string& name) {
  for (const auto& o : response["outputs"]) {
    if (o["name"] == name) return o;
  }
  ADD_FAILURE() << "no output " << name << " in " << response;
  return json::object();
}

TEST(ExamplesTest, ReadmeRequestsGiveTheReadmeAnswers) {
  auto server = ServerProcess::Start(SourceDir() / "examples/models");
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();

  auto cancer = Post(port, "/v2/models/breast_cancer/infer", "breast_cancer.json");
  EXPECT_NEAR(Output(cancer, "probabilities")["data"][1].get<double>(), 0.0127371093, 1e-9);
  EXPECT_EQ(Output(cancer, "label")["data"][0], 0);

  auto diabetes = Post(port, "/v2/models/diabetes/infer", "diabetes.json");
  EXPECT_NEAR(Output(diabetes, "prediction")["data"][0].get<double>(), 198.620392, 1e-4);
  EXPECT_NEAR(Output(diabetes, "prediction")["data"][1].get<double>(), 74.9102707, 1e-4);

  auto iris = Post(port, "/v1/models/iris:predict", "iris_v1.json");
  ASSERT_EQ(iris["predictions"].size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(iris["predictions"][i]["label"], i);
  EXPECT_NEAR(iris["predictions"][0]["probabilities"][0].get<double>(), 0.991851151, 1e-8);

  auto lgbm = Post(port, "/v2/models/breast_cancer_lightgbm/infer", "breast_cancer_lightgbm.json");
  const json p = Output(lgbm, "probabilities");
  EXPECT_EQ(p["datatype"], "FP64");
  EXPECT_NEAR(p["data"][1].get<double>(), 0.016583724212725682, 1e-15);
  EXPECT_NEAR(p["data"][3].get<double>(), 0.99766103943896389, 1e-15);
  EXPECT_EQ(Output(lgbm, "label")["data"], json::array({0, 1}));

  // The ONNX MLP on the same request: ONNX Runtime's answer, and the graph's own signature.
  auto mlp = Post(port, "/v2/models/breast_cancer_mlp/infer", "breast_cancer.json");
  const json want = json::parse(ReadFile(
      SourceDir() / "examples/requests/breast_cancer_mlp_expected.json"))["cases"][0]["outputs"][0];
  const json got = Output(mlp, "probabilities");
  EXPECT_EQ(got["datatype"], "FP32");
  EXPECT_EQ(got["shape"], want["shape"]);
  for (size_t i = 0; i < want["data"].size(); ++i) {
    const double w = want["data"][i].get<double>();
    EXPECT_NEAR(got["data"][i].get<double>(), w, 1e-5 * std::max(1.0, std::abs(w)));
  }
  auto meta = Http(port, "GET", "/v2/models/breast_cancer_mlp");
  ASSERT_EQ(meta.status, 200) << meta.body;
  const json m = json::parse(meta.body);
  EXPECT_EQ(m["platform"], "onnx");
  EXPECT_EQ(m["inputs"][0]["name"], "input");
  EXPECT_EQ(m["inputs"][0]["shape"], json::array({-1, 30}));
  EXPECT_EQ(m["outputs"][0]["name"], "probabilities");
}

}  // namespace
}  // namespace inferd::testing
